"""Helpers the test modules share: the browser and the app server (app_server), the Label page in AppTest
(pages), the viewer in Chromium (viewer_browser), DICOM files made for a test (dicom_files) and a disk that
fills up (full_disk). Test modules import helpers from here, never from one another."""

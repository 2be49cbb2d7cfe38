"""The export writers: COCO, PNG masks, DICOM SEG, CSV, the dataset card, de-identification and label import."""

/** Pan tool (M; Space or the middle button with any tool): drag the image. */
export const pan = {
  name: "pan", key: "m", button: "Pan", tooltip: "Pan: drag the image", drawing: false,
  gestures: {
    pan: {
      move(v, drag, p) {
        v.view.panX = drag.from.panX + p.dx;
        v.view.panY = drag.from.panY + p.dy;
      },
    },
  },
};

/** Quick outline tool (O): drag a rough box around a lesion; Python answers with its outline as a polygon. */
import { rectangleDrag } from "./box.js";

export const outline = {
  name: "outline", key: "o", button: "Outline", drawing: true,
  tooltip: "Quick outline: drag a rough box around a lesion, get its outline as a polygon",
  ...rectangleDrag("outline", (v, d) => v.requestOutline(d.key, d.points)),
};

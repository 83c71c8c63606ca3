/** `digits/vision`: a person's picture → the model's 28×28 input, by MNIST's recipe (and back to a PNG). */
export { decodeImage, prepareImage, prepareImageDigits, ImageError, MAX_INPUT_PIXELS } from "./decode.js";
export { preprocess, rgbaLight, NoInkError, SIZE, WORKING_SIZE } from "./preprocess.js";
export type { LightSource, Prepared } from "./preprocess.js";
export { inputToPng } from "./png.js";

/** The page's elements by id. */
export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Pixels of a picture, as canvases hand them out. */
export interface Pixels {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

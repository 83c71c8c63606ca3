/**
 * ONNX Runtime's blocked-layout CPU kernels (the internal `com.microsoft.nchwc` domain), which onnxruntime uses
 * itself only for convolutions with constant weights. Emitted only by the nchwcConvolutions pass, in the
 * backward part of training graphs, so none has a gradient rule. Their names carry the domain ("nchwc.Conv");
 * the serializer splits it off.
 */
import type { OpDef } from "./types.js";
import { NN_OPS } from "./nn.js";

export const NCHWC_DOMAIN = "com.microsoft.nchwc";
export const NCHWC_PREFIX = "nchwc.";

export const NCHWC_OPS: Readonly<Record<string, OpDef>> = {
  // NCHW → the blocked layout, same logical shape (its channels a multiple of the block).
  [`${NCHWC_PREFIX}ReorderInput`]: {
    shape: ({ x }) => [{ shape: x.shape, dtype: "float32" }],
    gradient: null,
  },
  // Blocked layout → NCHW with `channels` channels (NHWC with channels_last).
  [`${NCHWC_PREFIX}ReorderOutput`]: {
    shape: ({ x, attrs }) => [
      {
        shape: attrs.channels_last
          ? [x.shape[0], ...x.shape.slice(2), attrs.channels as number]
          : [x.shape[0], attrs.channels as number, ...x.shape.slice(2)],
        dtype: "float32",
      },
    ],
    gradient: null,
  },
  // A convolution on blocked input, with its filter in the blocked order (the same logical shape).
  [`${NCHWC_PREFIX}Conv`]: { shape: NN_OPS.Conv.shape, gradient: null },
};

/**
 * The fine-tuning recipe, shared by `digits finetune` and the page's worker: a few epochs at a low rate, the
 * person's digits repeated to a share of each epoch beside MNIST digits (so the model does not forget).
 */
export const FINETUNE = { epochs: 3, learningRate: 1e-4, share: 0.15, batchSize: 32, mnist: 6000 } as const;

/** How many times `own` digits are repeated to make up `share` of an epoch beside `mixed` others. */
export function repeatsFor(share: number, own: number, mixed: number): number {
  return mixed === 0 ? 1 : Math.max(1, Math.round(((share / (1 - share)) * mixed) / own));
}

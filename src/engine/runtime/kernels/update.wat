;; The optimizers' updates as fused loops over flat float32 vectors, four lanes at a time (WebAssembly SIMD).
;; Each is the same arithmetic, in the same order and precision, as the optimizer's graph fragment in
;; compiler/optimizers.ts (test/engine/update-kernels.test.ts compares them). Addresses are byte offsets into
;; this module's memory; lengths are element counts, a multiple of 4. Compiled by scripts/build-kernels.mjs.
(module
  (memory (export "memory") 1)

  ;; g = a·p, or g += a·p: one replica's share-weighted gradient into the batch's.
  (func (export "accumulate") (param $g i32) (param $p i32) (param $n i32) (param $a f32) (param $first i32)
    (local $i i32) (local $end i32) (local $av v128)
    (local.set $av (f32x4.splat (local.get $a)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $g) (local.get $i))
        (f32x4.add
          (select (v128.const f32x4 0 0 0 0) (v128.load (i32.add (local.get $g) (local.get $i))) (local.get $first))
          (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $i))) (local.get $av))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $top))))

  ;; Adam (Keras's form, AdamW's decoupled decay when decay > 0):
  ;; m += (g − m)·b1; v += (g² − v)·b2; w = (w − w·decay) − m·alpha / (√v + eps).
  (func (export "adam") (param $w i32) (param $m i32) (param $v i32) (param $g i32) (param $n i32)
      (param $b1 f32) (param $b2 f32) (param $eps f32) (param $alpha f32) (param $decay f32)
    (local $i i32) (local $end i32) (local $gi v128) (local $mi v128) (local $vi v128) (local $wi v128)
    (local $B1 v128) (local $B2 v128) (local $E v128) (local $A v128) (local $D v128)
    (local.set $B1 (f32x4.splat (local.get $b1)))
    (local.set $B2 (f32x4.splat (local.get $b2)))
    (local.set $E (f32x4.splat (local.get $eps)))
    (local.set $A (f32x4.splat (local.get $alpha)))
    (local.set $D (f32x4.splat (local.get $decay)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $gi (v128.load (i32.add (local.get $g) (local.get $i))))
      (local.set $mi (v128.load (i32.add (local.get $m) (local.get $i))))
      (local.set $vi (v128.load (i32.add (local.get $v) (local.get $i))))
      (local.set $wi (v128.load (i32.add (local.get $w) (local.get $i))))
      (local.set $mi (f32x4.add (local.get $mi)
        (f32x4.mul (f32x4.sub (local.get $gi) (local.get $mi)) (local.get $B1))))
      (local.set $vi (f32x4.add (local.get $vi)
        (f32x4.mul (f32x4.sub (f32x4.mul (local.get $gi) (local.get $gi)) (local.get $vi)) (local.get $B2))))
      (v128.store (i32.add (local.get $m) (local.get $i)) (local.get $mi))
      (v128.store (i32.add (local.get $v) (local.get $i)) (local.get $vi))
      (v128.store (i32.add (local.get $w) (local.get $i))
        (f32x4.sub
          (f32x4.sub (local.get $wi) (f32x4.mul (local.get $wi) (local.get $D)))
          (f32x4.div (f32x4.mul (local.get $mi) (local.get $A))
            (f32x4.add (f32x4.sqrt (local.get $vi)) (local.get $E)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $top))))

  ;; Plain SGD: w −= g·lr.
  (func (export "sgd") (param $w i32) (param $g i32) (param $n i32) (param $lr f32)
    (local $i i32) (local $end i32) (local $L v128)
    (local.set $L (f32x4.splat (local.get $lr)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $w) (local.get $i))
        (f32x4.sub (v128.load (i32.add (local.get $w) (local.get $i)))
          (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $i))) (local.get $L))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $top))))

  ;; SGD with momentum μ: v = v·μ − g·lr; w += v, or with Nesterov w += v·μ − g·lr.
  (func (export "momentum") (param $w i32) (param $v i32) (param $g i32) (param $n i32)
      (param $lr f32) (param $mu f32) (param $nesterov i32)
    (local $i i32) (local $end i32) (local $L v128) (local $M v128) (local $step v128) (local $vi v128)
    (local.set $L (f32x4.splat (local.get $lr)))
    (local.set $M (f32x4.splat (local.get $mu)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $step (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $i))) (local.get $L)))
      (local.set $vi (f32x4.sub
        (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $M)) (local.get $step)))
      (v128.store (i32.add (local.get $v) (local.get $i)) (local.get $vi))
      (v128.store (i32.add (local.get $w) (local.get $i))
        (f32x4.add (v128.load (i32.add (local.get $w) (local.get $i)))
          (select (f32x4.sub (f32x4.mul (local.get $vi) (local.get $M)) (local.get $step)) (local.get $vi)
            (local.get $nesterov))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $top))))
)

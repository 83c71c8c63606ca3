;; The PNG fast path's two passes over the pixels (png-light.ts), in WebAssembly with SIMD: undoing the row
;; filters, and summing each block's darkness. The same integer arithmetic as light.ts's rgbaBlocks, so the
;; light values are the same to the last bit (test/vision/png-light.test.ts). Addresses are byte offsets into
;; this module's memory. Compiled by scripts/build-kernels.mjs.
(module
  (memory (export "memory") 1)

  ;; Undoes each row's filter in place: `height` rows at `raw`, each a filter byte then `stride` bytes, `bpp`
  ;; bytes a pixel. The `stride` bytes before `raw` must be zero: they are the first row's row above, so it
  ;; needs no case of its own. Returns 0 at an unknown filter, else 1.
  (func (export "unfilter") (param $raw i32) (param $stride i32) (param $height i32) (param $bpp i32) (result i32)
    (local $y i32) (local $row i32) (local $up i32) (local $f i32) (local $i i32)
    (local $a i32) (local $b i32) (local $c i32) (local $pa i32) (local $pb i32) (local $pc i32)
    (local.set $row (i32.add (local.get $raw) (i32.const 1)))
    (block $rowsDone (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $height)))
      (local.set $up (i32.sub (local.get $row) (i32.add (local.get $stride) (i32.const 1))))
      (local.set $f (i32.load8_u (i32.sub (local.get $row) (i32.const 1))))
      (if (i32.gt_u (local.get $f) (i32.const 4)) (then (return (i32.const 0))))
      (local.set $i (i32.const 0))
      ;; Sub: each byte plus the one a pixel to its left.
      (if (i32.eq (local.get $f) (i32.const 1)) (then
        (local.set $i (local.get $bpp))
        (block $d (loop $l
          (br_if $d (i32.ge_u (local.get $i) (local.get $stride)))
          (i32.store8 (i32.add (local.get $row) (local.get $i))
            (i32.add (i32.load8_u (i32.add (local.get $row) (local.get $i)))
                     (i32.load8_u (i32.sub (i32.add (local.get $row) (local.get $i)) (local.get $bpp)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))))
      ;; Up: each byte plus the one above, sixteen at a time.
      (if (i32.eq (local.get $f) (i32.const 2)) (then
        (block $d (loop $l
          (br_if $d (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $stride)))
          (v128.store (i32.add (local.get $row) (local.get $i))
            (i8x16.add (v128.load (i32.add (local.get $row) (local.get $i)))
                       (v128.load (i32.add (local.get $up) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $l)))
        (block $d (loop $l
          (br_if $d (i32.ge_u (local.get $i) (local.get $stride)))
          (i32.store8 (i32.add (local.get $row) (local.get $i))
            (i32.add (i32.load8_u (i32.add (local.get $row) (local.get $i)))
                     (i32.load8_u (i32.add (local.get $up) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))))
      ;; Average: plus the floor of the mean of left and above (left is 0 for the first pixel).
      (if (i32.eq (local.get $f) (i32.const 3)) (then
        (block $d (loop $l
          (br_if $d (i32.ge_u (local.get $i) (local.get $stride)))
          (local.set $a (if (result i32) (i32.lt_u (local.get $i) (local.get $bpp))
            (then (i32.const 0))
            (else (i32.load8_u (i32.sub (i32.add (local.get $row) (local.get $i)) (local.get $bpp))))))
          (i32.store8 (i32.add (local.get $row) (local.get $i))
            (i32.add (i32.load8_u (i32.add (local.get $row) (local.get $i)))
                     (i32.shr_u (i32.add (local.get $a) (i32.load8_u (i32.add (local.get $up) (local.get $i))))
                                (i32.const 1))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))))
      ;; Paeth: plus whichever of left, above and above-left is nearest to left + above − above-left.
      (if (i32.eq (local.get $f) (i32.const 4)) (then
        (block $d (loop $l
          (br_if $d (i32.ge_u (local.get $i) (local.get $stride)))
          (local.set $b (i32.load8_u (i32.add (local.get $up) (local.get $i))))
          (if (i32.lt_u (local.get $i) (local.get $bpp))
            (then (local.set $a (i32.const 0)) (local.set $c (i32.const 0)))
            (else
              (local.set $a (i32.load8_u (i32.sub (i32.add (local.get $row) (local.get $i)) (local.get $bpp))))
              (local.set $c (i32.load8_u (i32.sub (i32.add (local.get $up) (local.get $i)) (local.get $bpp))))))
          (local.set $pa (i32.sub (local.get $b) (local.get $c)))
          (local.set $pb (i32.sub (local.get $a) (local.get $c)))
          (local.set $pc (i32.add (local.get $pa) (local.get $pb)))
          (if (i32.lt_s (local.get $pa) (i32.const 0)) (then (local.set $pa (i32.sub (i32.const 0) (local.get $pa)))))
          (if (i32.lt_s (local.get $pb) (i32.const 0)) (then (local.set $pb (i32.sub (i32.const 0) (local.get $pb)))))
          (if (i32.lt_s (local.get $pc) (i32.const 0)) (then (local.set $pc (i32.sub (i32.const 0) (local.get $pc)))))
          (i32.store8 (i32.add (local.get $row) (local.get $i))
            (i32.add (i32.load8_u (i32.add (local.get $row) (local.get $i)))
              (select (local.get $a)
                (select (local.get $b) (local.get $c) (i32.le_u (local.get $pb) (local.get $pc)))
                (i32.and (i32.le_u (local.get $pa) (local.get $pb)) (i32.le_u (local.get $pa) (local.get $pc))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))))
      (local.set $row (i32.add (local.get $row) (i32.add (local.get $stride) (i32.const 1))))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br $rows)))
    (i32.const 1))

  ;; One pixel's darkness, in the units of light.ts's rgbaBlocks (for RGBA; the others scaled to match).
  (func $dark (param $p i32) (param $ch i32) (result i64)
    (if (i32.eq (local.get $ch) (i32.const 4)) (then
      (return (i64.extend_i32_u (i32.mul (i32.load8_u offset=3 (local.get $p))
        (i32.sub (i32.const 255000)
          (i32.add (i32.add (i32.mul (i32.const 299) (i32.load8_u (local.get $p)))
                            (i32.mul (i32.const 587) (i32.load8_u offset=1 (local.get $p))))
                   (i32.mul (i32.const 114) (i32.load8_u offset=2 (local.get $p))))))))))
    (if (i32.eq (local.get $ch) (i32.const 3)) (then
      (return (i64.extend_i32_u
        (i32.sub (i32.const 255000)
          (i32.add (i32.add (i32.mul (i32.const 299) (i32.load8_u (local.get $p)))
                            (i32.mul (i32.const 587) (i32.load8_u offset=1 (local.get $p))))
                   (i32.mul (i32.const 114) (i32.load8_u offset=2 (local.get $p)))))))))
    (if (i32.eq (local.get $ch) (i32.const 2)) (then
      (return (i64.extend_i32_u (i32.mul (i32.load8_u offset=1 (local.get $p))
        (i32.sub (i32.const 255) (i32.load8_u (local.get $p))))))))
    (i64.extend_i32_u (i32.sub (i32.const 255) (i32.load8_u (local.get $p)))))

  ;; Each block's darkness, summed: `w`×`h` blocks of `factor`×`factor` pixels (the picture's last partial
  ;; row and column of blocks left out), rows `rowStride` bytes apart from `pix`, into the f64s at `sums`.
  ;; A byte of 255 is paper in every colour type (white, or opaque white), so each row is summed only between
  ;; its first and last other byte, found sixteen bytes at a time.
  (func (export "darkness") (param $pix i32) (param $rowStride i32) (param $ch i32) (param $w i32) (param $h i32)
      (param $factor i32) (param $sums i32)
    (local $y i32) (local $row i32) (local $used i32) (local $lo i32) (local $hi i32) (local $blockBytes i32)
    (local $x i32) (local $x1 i32) (local $k i32) (local $p i32) (local $s i64) (local $out i32) (local $scale i64)
    (local.set $scale (if (result i64) (i32.eq (local.get $ch) (i32.const 4)) (then (i64.const 1))
      (else (if (result i64) (i32.eq (local.get $ch) (i32.const 3)) (then (i64.const 255))
        (else (if (result i64) (i32.eq (local.get $ch) (i32.const 2)) (then (i64.const 1000))
          (else (i64.const 255000))))))))
    ;; Zero the sums.
    (local.set $k (i32.const 0))
    (local.set $p (i32.shl (i32.mul (local.get $w) (local.get $h)) (i32.const 3)))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $k) (local.get $p)))
      (i64.store (i32.add (local.get $sums) (local.get $k)) (i64.const 0))
      (local.set $k (i32.add (local.get $k) (i32.const 8)))
      (br $l)))
    (local.set $blockBytes (i32.mul (local.get $factor) (local.get $ch)))
    (local.set $used (i32.mul (local.get $w) (local.get $blockBytes)))
    (block $rowsDone (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $y) (i32.mul (local.get $h) (local.get $factor))))
      (local.set $row (i32.add (local.get $pix) (i32.mul (local.get $y) (local.get $rowStride))))
      ;; The first byte that is not 255 ($lo = $used: none).
      (local.set $lo (i32.const 0))
      (block $found (loop $l
        (br_if $found (i32.gt_u (i32.add (local.get $lo) (i32.const 16)) (local.get $used)))
        (br_if $found (i32.eqz (i8x16.all_true (i8x16.eq (v128.load (i32.add (local.get $row) (local.get $lo)))
          (v128.const i32x4 -1 -1 -1 -1)))))
        (local.set $lo (i32.add (local.get $lo) (i32.const 16)))
        (br $l)))
      (block $found (loop $l
        (br_if $found (i32.ge_u (local.get $lo) (local.get $used)))
        (br_if $found (i32.ne (i32.load8_u (i32.add (local.get $row) (local.get $lo))) (i32.const 255)))
        (local.set $lo (i32.add (local.get $lo) (i32.const 1)))
        (br $l)))
      (if (i32.lt_u (local.get $lo) (local.get $used)) (then
        ;; The last byte that is not 255 (there is one: $lo).
        (local.set $hi (local.get $used))
        (block $found (loop $l
          (br_if $found (i32.lt_u (i32.sub (local.get $hi) (local.get $lo)) (i32.const 16)))
          (br_if $found (i32.eqz (i8x16.all_true (i8x16.eq
            (v128.load (i32.sub (i32.add (local.get $row) (local.get $hi)) (i32.const 16)))
            (v128.const i32x4 -1 -1 -1 -1)))))
          (local.set $hi (i32.sub (local.get $hi) (i32.const 16)))
          (br $l)))
        (block $found (loop $l
          (br_if $found (i32.ne (i32.load8_u (i32.sub (i32.add (local.get $row) (local.get $hi)) (i32.const 1)))
            (i32.const 255)))
          (local.set $hi (i32.sub (local.get $hi) (i32.const 1)))
          (br $l)))
        ;; Blocks $x … $x1 − 1 hold those bytes.
        (local.set $x (i32.div_u (local.get $lo) (local.get $blockBytes)))
        (local.set $x1 (i32.add (i32.div_u (i32.sub (local.get $hi) (i32.const 1)) (local.get $blockBytes)) (i32.const 1)))
        (local.set $out (i32.add (local.get $sums)
          (i32.shl (i32.mul (i32.div_u (local.get $y) (local.get $factor)) (local.get $w)) (i32.const 3))))
        (block $blocksDone (loop $blocks
          (br_if $blocksDone (i32.ge_u (local.get $x) (local.get $x1)))
          (local.set $s (i64.const 0))
          (local.set $p (i32.add (local.get $row) (i32.mul (local.get $x) (local.get $blockBytes))))
          (local.set $k (i32.const 0))
          (block $d (loop $l
            (br_if $d (i32.ge_u (local.get $k) (local.get $factor)))
            (local.set $s (i64.add (local.get $s) (call $dark (local.get $p) (local.get $ch))))
            (local.set $p (i32.add (local.get $p) (local.get $ch)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $l)))
          (local.set $p (i32.add (local.get $out) (i32.shl (local.get $x) (i32.const 3))))
          (f64.store (local.get $p) (f64.add (f64.load (local.get $p))
            (f64.convert_i64_s (i64.mul (local.get $s) (local.get $scale)))))
          (local.set $x (i32.add (local.get $x) (i32.const 1)))
          (br $blocks)))))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br $rows))))
)

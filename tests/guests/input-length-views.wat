;; Declares portcullis_views_v1 and denies with the length of the envelope
;; it was given, in decimal: it must get the small envelope.
(module
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_views_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param $ptr i32) (param $len i32) (result i64)
    (call $deny_with_number (local.get $len)))
  ;; Writes {"allow":false,"msg":"N"} at 0 and returns (0 << 32) | its length.
  (func $deny_with_number (param $n i32) (result i64)
    (local $digits i32) (local $i i32) (local $end i32)
    ;; the digits, least significant first, at 512..
    (loop $count
      (i32.store8 (i32.add (i32.const 512) (local.get $digits))
        (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $count (local.get $n)))
    ;; the prefix is 22 bytes at 0; copy the digits after it, most significant first
    (loop $copy
      (i32.store8 (i32.add (i32.const 22) (local.get $i))
        (i32.load8_u (i32.add (i32.const 511)
          (i32.sub (local.get $digits) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $copy (i32.lt_u (local.get $i) (local.get $digits))))
    (local.set $end (i32.add (i32.const 22) (local.get $digits)))
    (i32.store8 (local.get $end) (i32.const 34))               ;; "
    (i32.store8 (i32.add (local.get $end) (i32.const 1)) (i32.const 125)) ;; }
    (i64.extend_i32_u (i32.add (local.get $end) (i32.const 2))))
  (data (i32.const 0) "{\"allow\":false,\"msg\":\""))

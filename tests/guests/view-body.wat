;; Fetches the body view (kind 2) with portcullis.view, copies it with
;; portcullis.view_copy, and denies with "status * 1000000 + length" in
;; decimal: 0 status and the body's length when the call has a body.
(module
  (import "portcullis" "view" (func $view (param i32) (result i64)))
  (import "portcullis" "view_copy" (func $view_copy (param i32)))
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_views_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param $ptr i32) (param $len i32) (result i64)
    (local $packed i64) (local $status i32) (local $size i32)
    (local.set $packed (call $view (i32.const 2)))
    (local.set $status (i32.wrap_i64 (i64.shr_u (local.get $packed) (i64.const 32))))
    (local.set $size (i32.wrap_i64 (local.get $packed)))
    (if (local.get $size) (then (call $view_copy (i32.const 65536))))
    (call $deny_with_number
      (i32.add (i32.mul (local.get $status) (i32.const 1000000)) (local.get $size))))
  (func $deny_with_number (param $n i32) (result i64)
    (local $digits i32) (local $i i32) (local $end i32)
    (loop $count
      (i32.store8 (i32.add (i32.const 512) (local.get $digits))
        (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $count (local.get $n)))
    (loop $copy
      (i32.store8 (i32.add (i32.const 22) (local.get $i))
        (i32.load8_u (i32.add (i32.const 511)
          (i32.sub (local.get $digits) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $copy (i32.lt_u (local.get $i) (local.get $digits))))
    (local.set $end (i32.add (i32.const 22) (local.get $digits)))
    (i32.store8 (local.get $end) (i32.const 34))
    (i32.store8 (i32.add (local.get $end) (i32.const 1)) (i32.const 125))
    (i64.extend_i32_u (i32.add (local.get $end) (i32.const 2))))
  (data (i32.const 0) "{\"allow\":false,\"msg\":\""))

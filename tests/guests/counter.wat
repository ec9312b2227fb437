;; Declares itself reusable and counts its calls in a global: denies with
;; "call N" (N = calls served by this instance, 1-9) so a test can see
;; whether the host reused the instance, and traps on its third call so a
;; test can see that a trapped instance is never reused.
(module
  (memory (export "memory") 8)
  (global $calls (mut i32) (i32.const 0))
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_reusable"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.eq (global.get $calls) (i32.const 3)) (then unreachable))
    ;; the digit of "call N" is byte 27 of the answer
    (i32.store8 (i32.const 27)
      (i32.add (i32.const 48) (i32.rem_u (global.get $calls) (i32.const 10))))
    (i64.const 30))                        ;; ptr 0, len 30
  (data (i32.const 0) "{\"allow\":false,\"msg\":\"call 0\"}"))

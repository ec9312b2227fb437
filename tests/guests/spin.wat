;; Declares itself reusable, spins for about two milliseconds, then allows: a
;; call that keeps its worker busy long enough for concurrent requests to
;; land on every worker, each of which then holds a warm instance.
(module
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_reusable"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (local $n i32)
    (local.set $n (i32.const 3000000))
    (loop $spin
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $spin (local.get $n)))
    (i64.const 14))                        ;; ptr 0, len 14
  (data (i32.const 0) "{\"allow\":true}"))

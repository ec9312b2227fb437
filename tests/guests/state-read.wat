;; Reads key "k" from its host state and allows if it holds the 7 bytes
;; "written" (state-write.wat's value); traps (deny) otherwise. The read
;; path of the state benchmark.
(module
  (import "portcullis" "state_get" (func $get (param i32 i32) (result i64)))
  (import "portcullis" "view_copy" (func $copy (param i32)))
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_reusable"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    ;; (status 0 = found) << 32 | length 7
    (if (i64.ne (call $get (i32.const 100) (i32.const 1)) (i64.const 7))
      (then unreachable))
    (call $copy (i32.const 200))
    ;; the first four bytes are "writ"
    (if (i32.ne (i32.load (i32.const 200)) (i32.load (i32.const 104)))
      (then unreachable))
    (i64.const 14))                          ;; ptr 0, len 14
  (data (i32.const 0) "{\"allow\":true}")
  (data (i32.const 100) "k")
  (data (i32.const 104) "written"))

;; Calls portcullis.view_copy without readying a view first: a trap.
(module
  (import "portcullis" "view_copy" (func $view_copy (param i32)))
  (memory (export "memory") 1)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (call $view_copy (i32.const 0))
    (i64.const 14))
  (data (i32.const 0) "{\"allow\":true}"))

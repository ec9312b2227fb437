;; Hands state_put a key that runs past the end of its memory: the host
;; must trap the call (a deny), never read outside the module or crash.
(module
  (import "portcullis" "state_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (drop (call $put (i32.const 65000) (i32.const 1000) (i32.const 0) (i32.const 1)))
    (i64.const 14))
  (data (i32.const 0) "{\"allow\":true}"))

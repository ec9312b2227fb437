;; Has every export but portcullis_abi_v1: not an ABI v1 module, refused at load.
(module
  (memory (export "memory") 1)
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "portcullis_authorize") (param i32 i32) (result i64) (i64.const 0)))

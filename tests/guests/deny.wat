;; A well-behaved ABI v1 module that denies everything, with a message.
(module
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (i64.const 31))                        ;; ptr 0, len 31
  (data (i32.const 0) "{\"allow\":false,\"msg\":\"not now\"}"))

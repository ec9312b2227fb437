;; Answers with 1 MiB: over the output bound even though it lies in memory.
(module
  (memory (export "memory") 32)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (i64.const 0x100000)))                 ;; ptr 0, len 1 MiB

;; Imports a host function outside wasi_snapshot_preview1 and portcullis: refused at load.
(module
  (import "env" "system" (func $system (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "portcullis_authorize") (param i32 i32) (result i64) (i64.const 0)))

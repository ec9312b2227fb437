;; Unbounded recursion: exhausts the wasm stack.
(module
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func $recurse (param i32) (result i32)
    (call $recurse (i32.add (local.get 0) (i32.const 1))))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (drop (call $recurse (i32.const 0)))
    (i64.const 0)))

;; Writes key "k" = "written" to its host state, then traps: a call that
;; fails must commit none of its writes (state-write.wat is the control).
(module
  (import "portcullis" "state_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (drop (call $put (i32.const 100) (i32.const 1) (i32.const 104) (i32.const 7)))
    unreachable)
  (data (i32.const 100) "k")
  (data (i32.const 104) "written"))

;; Writes key "k" = "written" to its host state and allows: the control
;; case of state-write-then-trap.wat. A refused write traps (deny).
(module
  (import "portcullis" "state_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_reusable"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (if (call $put (i32.const 100) (i32.const 1) (i32.const 104) (i32.const 7))
      (then unreachable))
    (i64.const 14))                          ;; ptr 0, len 14
  (data (i32.const 0) "{\"allow\":true}")
  (data (i32.const 100) "k")
  (data (i32.const 104) "written"))

;; allow.wat declaring itself reusable: the host keeps one warm instance per
;; thread. The no-state baseline of benches/state.rs, whose state modules
;; (state-read.wat, state-write.wat) are reusable too.
(module
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_reusable"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (i64.const 14))                        ;; ptr 0, len 14
  (data (i32.const 0) "{\"allow\":true}"))

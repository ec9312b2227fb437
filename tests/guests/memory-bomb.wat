;; Grows memory far past any sane limit, ignores the result, then allows.
;; Growth past the limit must deny, not hand back -1 and let this carry on.
(module
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (drop (memory.grow (i32.const 16384)))   ;; 1 GiB
    (i64.const 14))
  (data (i32.const 0) "{\"allow\":true}"))

;; Readies the headers view, then asks the host to copy it past the end of
;; its memory: the host must trap the call, not write outside it.
(module
  (import "portcullis" "view" (func $view (param i32) (result i64)))
  (import "portcullis" "view_copy" (func $view_copy (param i32)))
  (memory (export "memory") 1)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_views_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (drop (call $view (i32.const 1)))
    (call $view_copy (i32.const 65530))
    (i64.const 14))
  (data (i32.const 0) "{\"allow\":true}"))

;; Writes a line to stdout through WASI, then allows: the line must reach
;; the host's log, and printing must work wherever the host evaluates.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    ;; iovec at 64: {ptr 100, len 21}; bytes written stored at 80
    (i32.store (i32.const 64) (i32.const 100))
    (i32.store (i32.const 68) (i32.const 21))
    (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 80)))
    (i64.const 14))
  (data (i32.const 0) "{\"allow\":true}")
  (data (i32.const 100) "hello from the guest\n"))

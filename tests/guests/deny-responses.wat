;; Allows every request and denies every response: it asks for the response
;; phase (portcullis_response_v1) and denies when its envelope holds the
;; bytes "phase":"response". Docker's response-phase deny, after the daemon
;; has acted. A test module, not a policy: a request whose body held those
;; bytes would be denied too.
(module
  (memory (export "memory") 1)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_response_v1"))
  ;; The input goes at 4096; memory grows to hold it (a response-phase
  ;; envelope carries both bodies).
  (func (export "portcullis_alloc") (param $len i32) (result i32)
    (local $pages i32)
    (local.set $pages
      (i32.sub
        (i32.shr_u
          (i32.add (i32.add (i32.const 4096) (local.get $len)) (i32.const 65535))
          (i32.const 16))
        (memory.size)))
    (if (i32.gt_s (local.get $pages) (i32.const 0))
      (then (drop (memory.grow (local.get $pages)))))
    (i32.const 4096))
  (func (export "portcullis_authorize") (param $ptr i32) (param $len i32) (result i64)
    (local $at i32) (local $last i32) (local $i i32)
    ;; the last position the 18-byte needle may start at
    (local.set $last (i32.sub (i32.add (local.get $ptr) (local.get $len)) (i32.const 18)))
    (local.set $at (local.get $ptr))
    (block $not_found
      (loop $scan
        (br_if $not_found (i32.gt_s (local.get $at) (local.get $last)))
        (local.set $i (i32.const 0))
        (block $mismatch
          (loop $compare
            (br_if $mismatch
              (i32.ne
                (i32.load8_u (i32.add (local.get $at) (local.get $i)))
                (i32.load8_u (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $compare (i32.lt_u (local.get $i) (i32.const 18))))
          (return (i64.const 274877906990)))  ;; deny: ptr 64, len 46
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $scan)))
    (i64.const 137438953486))                 ;; allow: ptr 32, len 14
  (data (i32.const 0) "\"phase\":\"response\"")
  (data (i32.const 32) "{\"allow\":true}")
  (data (i32.const 64) "{\"allow\":false,\"msg\":\"responses are withheld\"}"))

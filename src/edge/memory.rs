//! The process's allocator: the system's, with a ceiling on any one request and a clear last word when
//! memory runs out. Rust aborts on a failed allocation (`memory allocation of N bytes failed`, exit 134
//! and a core dump where enabled); a template that doubles a string or a list in a loop, or a run under
//! `ulimit -v`, ends instead like any other failure: one sentence on stderr and exit 1.

use std::alloc::{GlobalAlloc, Layout, System};

/// No single request stackc makes legitimately comes near this (a zipped code folder is capped at
/// 512 MiB, a rendered template at 4 MiB); a request over it is a runaway.
pub const MAX_ONE_REQUEST: usize = 2 << 30;

pub struct Bounded;

unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        checked(layout.size(), || System.alloc(layout))
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        checked(layout.size(), || System.alloc_zeroed(layout))
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        checked(new_size, || System.realloc(ptr, layout, new_size))
    }
}

fn checked(size: usize, allocate: impl FnOnce() -> *mut u8) -> *mut u8 {
    if size > MAX_ONE_REQUEST {
        out_of_memory(size);
    }
    let ptr = allocate();
    if ptr.is_null() {
        out_of_memory(size);
    }
    ptr
}

/// Says so and ends the process: nothing here allocates (the message is built in a buffer on the
/// stack and written straight to stderr), and nothing unwinds.
fn out_of_memory(size: usize) -> ! {
    let mut buf = [0u8; 320];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        let n = bytes.len().min(buf.len() - at);
        buf[at..at + n].copy_from_slice(&bytes[..n]);
        at += n;
    };
    put(b"error: out of memory: stackc was asked for ");
    put(megabytes(size).as_slice());
    put(b" MB at once. A template that doubles a string or a list in a loop (`{% set s = s ~ s %}`) does \
this; so does a memory limit (ulimit -v) too low for the run. Nothing more was sent to AWS from this process.\n");
    let written = &buf[..at];
    #[cfg(unix)]
    unsafe {
        libc::write(2, written.as_ptr().cast(), written.len());
        libc::_exit(1);
    }
    #[cfg(not(unix))]
    {
        let _ = written;
        std::process::abort();
    }
}

/// `size` in whole megabytes (at least 1), as decimal digits, without allocating.
fn megabytes(size: usize) -> Digits {
    let mut n = (size >> 20).max(1);
    let mut d = Digits { buf: [0; 20], start: 20 };
    while n > 0 || d.start == 20 {
        d.start -= 1;
        d.buf[d.start] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    d
}

struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_written_without_allocating() {
        assert_eq!(megabytes(0).as_slice(), b"1");
        assert_eq!(megabytes(6_400_004_224).as_slice(), b"6103");
        assert_eq!(megabytes(usize::MAX).as_slice(), (usize::MAX >> 20).to_string().as_bytes());
    }
}

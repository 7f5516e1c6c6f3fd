//! The HTTP/1.1 upgrade parser (`subwire::ws::upgrade`), driven the way the reactor drives it:
//! a read buffer that grows a byte at a time, may end mid-head, or carries frame bytes after it.

mod accepting;
mod rejecting;
mod responses;
mod support;

//! Writing tar parts in OpenHarmony's layout: ustar headers, absolute sandbox paths as entry
//! names, GNU 'L' records for names of 100 bytes or more.

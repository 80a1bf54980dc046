//! Memory: the deterministic content of lazily materialised pages, mapping
//! them on first touch, the write journal that undoes a trial's stores,
//! and the generator every generated value comes from.

use std::sync::OnceLock;

use unicorn_engine::unicorn_const::Prot;
use unicorn_engine::Unicorn;

use super::state::{Journaled, State};
use super::{Emulator, HEAP_BASE, HEAP_WINDOW, LAZY_KEEP, LAZY_PAGE_LIMIT, PAGE, PREMAPPED_HEAP};

/// Deterministic content of a lazily materialised page: a mix of zeros,
/// small integers, pointers into the lazy heap and random words, so that
/// pointer-chasing code finds pointers without a model of the program.
pub(crate) fn page_content(page: u64, big_endian: bool) -> Vec<u8> {
    let mut state = page ^ 0x5851_f42d_4c95_7f2d;
    let mut out = Vec::with_capacity(PAGE as usize);
    for _ in 0..PAGE / 8 {
        let r = splitmix(&mut state);
        let word = match r & 3 {
            0 => 0,
            1 => (r >> 8) & 0xff,
            2 => HEAP_BASE + ((r >> 8) & 0xff) * PAGE * 4 + ((r >> 16) & 0x7f8),
            _ => splitmix(&mut state),
        };
        out.extend_from_slice(&if big_endian {
            word.to_be_bytes()
        } else {
            word.to_le_bytes()
        });
    }
    out
}

/// The content of the premapped heap, made once per byte order and process
/// (every worker thread's emulator starts from it).
pub(crate) fn premapped_heap(big_endian: bool) -> &'static [u8] {
    static HEAPS: [OnceLock<Vec<u8>>; 2] = [OnceLock::new(), OnceLock::new()];
    HEAPS[usize::from(big_endian)].get_or_init(|| {
        let mut content = Vec::with_capacity(PREMAPPED_HEAP as usize);
        for page in (HEAP_BASE..HEAP_BASE + PREMAPPED_HEAP).step_by(PAGE as usize) {
            content.extend_from_slice(&page_content(page, big_endian));
        }
        content
    })
}

/// SplitMix64: small, fast, and the same everywhere.
pub fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Emulator {
    /// Unmap the lazily mapped pages once there are many: Unicorn rebuilds
    /// its whole memory map at every mapping, so thousands of leftover
    /// pages from earlier trials would make each new one slower. Their
    /// content is regenerated the same when touched again.
    pub(crate) fn trim_lazy_pages(&mut self) {
        if self.uc.get_data().lazy_mapped.len() <= LAZY_KEEP {
            return;
        }
        self.unmap_lazy_pages();
    }

    /// Unmap every lazily mapped page.
    pub(crate) fn unmap_lazy_pages(&mut self) {
        let pages = std::mem::take(&mut self.uc.get_data_mut().lazy_mapped);
        for page in pages {
            let _ = self.uc.mem_unmap(page, PAGE);
        }
    }

    /// Undo every store since `mark`, newest first.
    pub(crate) fn undo_journal(&mut self, mark: usize) {
        let entries: Vec<Journaled> = self.uc.get_data_mut().journal.drain(mark..).collect();
        for j in entries.iter().rev() {
            let _ = self.uc.mem_write(j.addr, &j.old[..usize::from(j.len)]);
        }
    }
}

/// Map the heap page `page` with its generated content, if it is in the
/// heap window and the trial may map another page. Only the heap window:
/// generated pointers and what lies after them. A random word used as a
/// pointer is a fault, as it would most likely be on hardware.
pub(crate) fn map_lazy_page(uc: &mut Unicorn<'_, State>, page: u64) -> bool {
    let state = uc.get_data_mut();
    let in_heap = (HEAP_BASE..HEAP_BASE + HEAP_WINDOW).contains(&page);
    if !in_heap || state.lazy_pages >= LAZY_PAGE_LIMIT {
        return false;
    }
    state.lazy_pages += 1;
    let big = state.big_endian;
    if uc.mem_map(page, PAGE, Prot::READ | Prot::WRITE).is_err() {
        return false;
    }
    uc.get_data_mut().lazy_mapped.push(page);
    uc.mem_write(page, &page_content(page, big)).is_ok()
}

/// Journal the bytes a cache-block zeroing instruction (POWER `dcbz`,
/// arm64 `dc zva`) is about to clear: Unicorn clears them with a plain
/// memset that no write hook sees. The whole aligned 256 bytes around the
/// address cover any block size.
pub(crate) fn journal_zeroed_block(uc: &mut Unicorn<'_, State>, addr: u64) {
    let block = addr & !0xff;
    for chunk in (block..block + 0x100).step_by(16) {
        let mut old = [0u8; 16];
        if uc.mem_read(chunk, &mut old).is_err()
            && (!map_lazy_page(uc, chunk & !(PAGE - 1)) || uc.mem_read(chunk, &mut old).is_err())
        {
            continue;
        }
        uc.get_data_mut().journal.push(Journaled {
            addr: chunk,
            len: 16,
            old,
        });
    }
}

/// Write guest memory the way the program's own stores are: journaled, so
/// that the next trial's reset undoes it (a store by the stub or handler
/// model left in place would make later trials depend on earlier ones).
pub(crate) fn write_journaled(uc: &mut Unicorn<'_, State>, addr: u64, bytes: &[u8]) {
    let len = bytes.len().min(16);
    let mut old = [0u8; 16];
    if uc.mem_read(addr, &mut old[..len]).is_err() {
        return;
    }
    uc.get_data_mut().journal.push(Journaled {
        addr,
        len: len as u8,
        old,
    });
    let _ = uc.mem_write(addr, &bytes[..len]);
}

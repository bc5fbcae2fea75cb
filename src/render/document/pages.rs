//! An upper bound of the pages a letter takes, cheap enough for every request: most letters are shown to
//! fit without being laid out. The bound is deliberately pessimistic (wide letters, short lines).

use super::markup::{Block, Inline, inlines_text};

/// Fewest characters a full line of body text holds (11 pt on 170 mm, in capitals of the widest letters).
const CHARS_PER_LINE: usize = 38;
/// Fewest body lines a page holds, paragraph spacing included.
const LINES_PER_PAGE: usize = 34;
/// What the first page gives to the letterhead, window, date, object, and the signature block at the end.
const FIXED_LINES: usize = 30;

/// At least as many pages as the body will take.
pub fn upper_bound(body: &[Block]) -> usize {
    (FIXED_LINES + blocks_lines(body, CHARS_PER_LINE)).div_ceil(LINES_PER_PAGE)
}

fn blocks_lines(blocks: &[Block], width: usize) -> usize {
    blocks.iter().map(|b| block_lines(b, width) + 1).sum()
}

fn block_lines(block: &Block, width: usize) -> usize {
    match block {
        Block::Paragraph(inlines) => text_lines(inlines, width),
        Block::Bullets(items) | Block::Numbered { items, .. } => {
            items.iter().map(|item| blocks_lines(item, width.saturating_sub(3).max(1)).max(1)).sum()
        }
        Block::Table(table) => {
            let columns = table.align.len().max(1);
            let cell_width = (width / columns).saturating_sub(2).max(1);
            let row = |cells: &Vec<Vec<Inline>>| 1 + cells.iter().map(|c| text_lines(c, cell_width)).max().unwrap_or(1);
            row(&table.head) + table.rows.iter().map(row).sum::<usize>()
        }
    }
}

fn text_lines(inlines: &[Inline], width: usize) -> usize {
    inlines_text(inlines).split('\n').map(|line| line.chars().count().div_ceil(width).max(1)).sum()
}

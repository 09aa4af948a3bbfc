//! A small PDF writer for printed contest documents: lines of text and table rows on A4
//! pages, in one embedded TrueType font with a ToUnicode map, so that Cyrillic text shows
//! and can be copied and searched (`pdftotext` reads it).
//!
//! The font is embedded as a subset of the glyphs the document uses, in a CIDFontType2 with
//! identity CID-to-glyph mapping. Each character is written as the 2-byte id of its glyph in
//! the subset.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;

/// The font the documents use: DejaVu Sans from Debian's fonts-dejavu-core.
pub const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 40.0;
const FONT_NAME: Name<'static> = Name(b"F1");

/// Errors of building a PDF.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The font file is not a TrueType font.
    #[error("the font is not a usable TrueType font: {0}")]
    Font(String),
}

/// A document being laid out, page by page, from the top.
pub struct Document<'f> {
    font: ttf_parser::Face<'f>,
    font_data: &'f [u8],
    title: String,
    pages: Vec<Content>,
    y: f32,
    /// Glyph ids of the font mapped to ids in the subset, in order of first use.
    remapper: GlyphRemapper,
    /// Id in the font and character of each used glyph, by its id in the subset.
    used: BTreeMap<u16, (u16, char)>,
}

impl<'f> Document<'f> {
    /// Starts a document in the TrueType font `font_data`.
    pub fn new(font_data: &'f [u8], title: &str) -> Result<Self, PdfError> {
        let font =
            ttf_parser::Face::parse(font_data, 0).map_err(|e| PdfError::Font(e.to_string()))?;
        let mut document = Self {
            font,
            font_data,
            title: title.to_owned(),
            pages: Vec::new(),
            y: 0.0,
            remapper: GlyphRemapper::new(),
            used: BTreeMap::new(),
        };
        document.new_page();
        Ok(document)
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_HEIGHT - MARGIN;
    }

    /// Moves down by `height` points, starting a page when the bottom margin is reached.
    fn advance(&mut self, height: f32) {
        if self.y - height < MARGIN {
            self.new_page();
        }
        self.y -= height;
    }

    /// Returns the id in the subset of the glyph of `c`, or 0 (the missing glyph).
    fn glyph(&mut self, c: char) -> u16 {
        let id = self.font.glyph_index(c).map(|g| g.0).unwrap_or(0);
        if id == 0 {
            return 0;
        }
        let subset_id = self.remapper.remap(id);
        self.used.entry(subset_id).or_insert((id, c));
        subset_id
    }

    /// Returns the width of `text` at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        let units = f32::from(self.font.units_per_em());
        text.chars()
            .map(|c| {
                let glyph = self.font.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
                f32::from(self.font.glyph_hor_advance(glyph).unwrap_or(0))
            })
            .sum::<f32>()
            * size
            / units
    }

    /// Cuts `text` to fit `width`, ending it with "…" when cut.
    fn fit(&self, text: &str, size: f32, width: f32) -> String {
        if self.width(text, size) <= width {
            return text.to_owned();
        }
        let mut out = String::new();
        for c in text.chars() {
            let candidate = format!("{out}{c}…");
            if self.width(&candidate, size) > width {
                break;
            }
            out.push(c);
        }
        out.push('…');
        out
    }

    fn show(&mut self, x: f32, size: f32, text: &str) {
        let mut bytes = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            bytes.extend_from_slice(&self.glyph(c).to_be_bytes());
        }
        let y = self.y;
        let page = self.pages.last_mut().expect("a document always has a page");
        page.begin_text();
        page.set_font(FONT_NAME, size);
        page.next_line(x, y);
        page.show(Str(&bytes));
        page.end_text();
    }

    /// Writes a heading.
    pub fn heading(&mut self, text: &str) {
        self.advance(22.0);
        let text = self.fit(text, 14.0, PAGE_WIDTH - 2.0 * MARGIN);
        self.show(MARGIN, 14.0, &text);
        self.advance(4.0);
    }

    /// Writes a paragraph, wrapped at spaces to the page's width.
    pub fn paragraph(&mut self, text: &str) {
        let size = 10.0;
        let width = PAGE_WIDTH - 2.0 * MARGIN;
        for source_line in text.lines() {
            let mut line = String::new();
            for word in source_line.split(' ') {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, size) > width && !line.is_empty() {
                    self.advance(14.0);
                    self.show(MARGIN, size, &line);
                    line = word.to_owned();
                } else {
                    line = candidate;
                }
            }
            self.advance(14.0);
            let line = self.fit(&line, size, width);
            self.show(MARGIN, size, &line);
        }
    }

    /// Writes a table row: each cell starts at its column's offset from the left margin, in
    /// points, and is cut to the next column. The last column runs to the right margin.
    pub fn row(&mut self, columns: &[f32], cells: &[&str]) {
        let size = 9.0;
        self.advance(13.0);
        let right = PAGE_WIDTH - 2.0 * MARGIN;
        for (index, (offset, cell)) in columns.iter().zip(cells).enumerate() {
            let end = columns.get(index + 1).copied().unwrap_or(right);
            let text = self.fit(cell, size, end - offset - 4.0);
            self.show(MARGIN + offset, size, &text);
        }
    }

    /// Draws a horizontal rule and leaves a little space.
    pub fn rule(&mut self) {
        self.advance(6.0);
        let y = self.y;
        let page = self.pages.last_mut().expect("a document always has a page");
        page.set_line_width(0.5);
        page.move_to(MARGIN, y);
        page.line_to(PAGE_WIDTH - MARGIN, y);
        page.stroke();
    }

    /// Leaves an empty line.
    pub fn space(&mut self) {
        self.advance(8.0);
    }

    /// Writes the file.
    pub fn finish(self) -> Result<Vec<u8>, PdfError> {
        let font_program = subsetter::subset(self.font_data, 0, &self.remapper)
            .map_err(|e| PdfError::Font(format!("subsetting failed: {e}")))?;
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let type0 = Ref::new(3);
        let cid = Ref::new(4);
        let descriptor = Ref::new(5);
        let font_file = Ref::new(6);
        let cmap = Ref::new(7);
        let info = Ref::new(8);
        let first_page = 9;

        pdf.catalog(catalog).pages(tree);
        pdf.document_info(info)
            .title(TextStr(&self.title))
            .producer(TextStr("Profstage"));
        let page_ids: Vec<Ref> = (0..self.pages.len())
            .map(|i| Ref::new(first_page + 2 * i as i32))
            .collect();
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(page_ids.len() as i32);
        for (content, page_id) in self.pages.into_iter().zip(&page_ids) {
            let content_id = Ref::new(page_id.get() + 1);
            let mut page = pdf.page(*page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
            page.parent(tree);
            page.contents(content_id);
            page.resources().fonts().pair(FONT_NAME, type0);
            page.finish();
            pdf.stream(content_id, &content.finish());
        }

        // A subset's name starts with a tag of six capital letters, which marks the font as
        // incomplete for readers. It is derived from the glyphs, so equal subsets share it.
        let tag = subset_tag(self.used.values().map(|(id, _)| *id));
        let base_name = format!("{tag}+DejaVuSans");
        let base = Name(base_name.as_bytes());
        let system = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };
        pdf.type0_font(type0)
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap);

        let units = f32::from(self.font.units_per_em());
        let scale = |v: i16| f32::from(v) * 1000.0 / units;
        let mut cid_font = pdf.cid_font(cid);
        cid_font
            .subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(system)
            .font_descriptor(descriptor)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        let mut widths = cid_font.widths();
        for (subset_id, (id, _)) in &self.used {
            let advance = self
                .font
                .glyph_hor_advance(ttf_parser::GlyphId(*id))
                .unwrap_or(0);
            widths.consecutive(*subset_id, [f32::from(advance) * 1000.0 / units]);
        }
        widths.finish();
        cid_font.finish();

        let bbox = self.font.global_bounding_box();
        pdf.font_descriptor(descriptor)
            .name(base)
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(
                scale(bbox.x_min),
                scale(bbox.y_min),
                scale(bbox.x_max),
                scale(bbox.y_max),
            ))
            .italic_angle(0.0)
            .ascent(scale(self.font.ascender()))
            .descent(scale(self.font.descender()))
            .cap_height(scale(
                self.font.capital_height().unwrap_or(self.font.ascender()),
            ))
            .stem_v(80.0)
            .font_file2(font_file);

        pdf.stream(font_file, &font_program)
            .pair(Name(b"Length1"), font_program.len() as i32);

        let mut unicode = UnicodeCmap::new(Name(b"Custom"), system);
        for (subset_id, (_, c)) in &self.used {
            unicode.pair(*subset_id, *c);
        }
        pdf.cmap(cmap, &unicode.finish());
        Ok(pdf.finish())
    }
}

/// Derives a subset tag of six capital letters from the font's glyph ids.
fn subset_tag(ids: impl Iterator<Item = u16>) -> String {
    // FNV-1a over the ids, then six base-26 digits.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for id in ids {
        for byte in id.to_be_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + (hash / 26u64.pow(i) % 26) as u8))
        .collect()
}

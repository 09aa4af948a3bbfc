//! QR codes of phone camera links, drawn as SVG on the server so that the page fetches no
//! script or image from elsewhere.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Side of the drawn code at least, in SVG user units (pixels when shown at natural size).
const MIN_SIZE: u32 = 240;

/// Draws `text` as a QR code with medium error correction (15 % of the code may be lost),
/// dark on white with the standard quiet zone. Fails when the text does not fit in a QR
/// code, which holds at most 2,331 bytes at this level.
pub fn svg(text: &str) -> Result<String, qrcode::types::QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(MIN_SIZE, MIN_SIZE)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_an_svg() {
        let image = svg("https://example.test/phone.html#link=00ff").unwrap();
        assert!(image.contains("<svg"), "{image}");
        assert!(image.contains("#000000"), "{image}");
    }

    #[test]
    fn rejects_text_too_long() {
        assert!(svg(&"x".repeat(5_000)).is_err());
    }
}

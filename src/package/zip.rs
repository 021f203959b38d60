//! A zip archive written by hand (deflate through flate2): the same files always give the same bytes.

use std::io::Write;

/// A zip archive (deflate) of (name, data, executable) entries, in the order given, with every timestamp
/// at 1980-01-01 00:00 and modes 0644/0755.
pub fn zip_entries(entries: &[(String, Vec<u8>, bool)]) -> Result<Vec<u8>, String> {
    if entries.len() > u16::MAX as usize {
        return Err(format!("{} files are more than a zip without ZIP64 holds (65,535)", entries.len()));
    }
    const DOS_DATE: u16 = 1 << 5 | 1; // 1980-01-01
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, exec) in entries {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        enc.write_all(data).map_err(|e| e.to_string())?;
        let compressed = enc.finish().map_err(|e| e.to_string())?;
        let (method, stored): (u16, &[u8]) =
            if compressed.len() < data.len() { (8, &compressed) } else { (0, data.as_slice()) };
        if out.len() > u32::MAX as usize || data.len() > u32::MAX as usize {
            return Err("the archive would exceed 4 GiB".into());
        }
        let offset = out.len() as u32;
        let flags: u16 = 0x0800; // names are UTF-8
        let mut local = Vec::new();
        local.extend(0x0403_4b50u32.to_le_bytes());
        local.extend(20u16.to_le_bytes());
        local.extend(flags.to_le_bytes());
        local.extend(method.to_le_bytes());
        local.extend(0u16.to_le_bytes());
        local.extend(DOS_DATE.to_le_bytes());
        local.extend(crc.sum().to_le_bytes());
        local.extend((stored.len() as u32).to_le_bytes());
        local.extend((data.len() as u32).to_le_bytes());
        local.extend((name.len() as u16).to_le_bytes());
        local.extend(0u16.to_le_bytes());
        local.extend(name.as_bytes());
        out.extend(local);
        out.extend(stored);
        let mode: u32 = if *exec { 0o100755 } else { 0o100644 };
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend((3u16 << 8 | 20).to_le_bytes()); // made by Unix, spec 2.0
        central.extend(20u16.to_le_bytes());
        central.extend(flags.to_le_bytes());
        central.extend(method.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(DOS_DATE.to_le_bytes());
        central.extend(crc.sum().to_le_bytes());
        central.extend((stored.len() as u32).to_le_bytes());
        central.extend((data.len() as u32).to_le_bytes());
        central.extend((name.len() as u16).to_le_bytes());
        central.extend([0u8; 8]); // extra, comment, disk, internal attributes
        central.extend((mode << 16).to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    let cd_size = central.len() as u32;
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend(cd_size.to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    Ok(out)
}

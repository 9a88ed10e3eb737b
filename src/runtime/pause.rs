//! The namespace holder image: what holds an awsvpc task's network namespace
//! while its containers come and go (the ECS agent's "pause" container).
//!
//! No registry can be assumed, so ecsbox makes the image itself: a tar with
//! one tiny static executable that blocks forever, imported into the engine
//! (`docker import`). The executable is a hand-assembled ELF of a few dozen
//! bytes for x86_64 and aarch64; it needs no libc and no shell.

use super::{ContainerRuntime, Result, RuntimeError};

pub const PAUSE_IMAGE: &str = "ecsbox/pause:1";

/// A static ELF64 executable with one loadable segment at 0x400000 whose
/// code blocks forever. It does not handle SIGTERM (as PID 1 it would ignore
/// it anyway): ecsbox removes it with SIGKILL.
fn elf(machine: u16, code: &[u8]) -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    const HEADERS: u64 = 64 + 56;
    let size = HEADERS + code.len() as u64;
    let mut b = Vec::with_capacity(size as usize);
    // ELF header.
    b.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    b.extend_from_slice(&machine.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    b.extend_from_slice(&(BASE + HEADERS).to_le_bytes()); // entry
    b.extend_from_slice(&64u64.to_le_bytes()); // program headers follow this header
    b.extend_from_slice(&0u64.to_le_bytes()); // no section headers
    b.extend_from_slice(&0u32.to_le_bytes()); // flags
    b.extend_from_slice(&64u16.to_le_bytes()); // header size
    b.extend_from_slice(&56u16.to_le_bytes()); // program header size
    b.extend_from_slice(&1u16.to_le_bytes()); // one program header
    b.extend_from_slice(&[0; 6]); // section header size, count, string index
                                  // Program header: PT_LOAD, readable + executable, the whole file.
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&5u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&BASE.to_le_bytes());
    b.extend_from_slice(&BASE.to_le_bytes());
    b.extend_from_slice(&size.to_le_bytes());
    b.extend_from_slice(&size.to_le_bytes());
    b.extend_from_slice(&0x1000u64.to_le_bytes());
    b.extend_from_slice(code);
    b
}

/// The pause executable for an architecture as Docker names it.
pub fn pause_executable(arch: &str) -> Option<Vec<u8>> {
    match arch {
        // loop: mov eax, 34 (pause); syscall; jmp loop
        "x86_64" | "amd64" => Some(elf(0x3e, &[0xb8, 0x22, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7])),
        // loop: x0..x4 = 0; x8 = 73 (ppoll with no fds and no timeout); svc 0; b loop
        "aarch64" | "arm64" => {
            let words: [u32; 8] = [
                0xd280_0000,
                0xd280_0001,
                0xd280_0002,
                0xd280_0003,
                0xd280_0004,
                0xd280_0928,
                0xd400_0001,
                0x17ff_fff9,
            ];
            Some(elf(
                0xb7,
                &words
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .collect::<Vec<_>>(),
            ))
        }
        _ => None,
    }
}

/// A tar archive with one executable file at `/name`.
pub fn single_file_tar(name: &str, content: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |field: &mut [u8], value: u64| {
        let s = format!("{:0width$o}\0", value, width = field.len() - 1);
        field.copy_from_slice(s.as_bytes());
    };
    octal(&mut header[100..108], 0o755); // mode
    octal(&mut header[108..116], 0); // uid
    octal(&mut header[116..124], 0); // gid
    octal(&mut header[124..136], content.len() as u64); // size
    octal(&mut header[136..148], 0); // mtime
    header[156] = b'0'; // regular file
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    // The checksum is computed with its own field as spaces.
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| b as u32).sum();
    let s = format!("{sum:06o}\0 ");
    header[148..156].copy_from_slice(s.as_bytes());

    let mut tar = header.to_vec();
    tar.extend_from_slice(content);
    tar.resize(tar.len().div_ceil(512) * 512, 0);
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

/// Makes sure the pause image exists on the engine; returns its reference.
pub async fn ensure_pause_image(runtime: &dyn ContainerRuntime) -> Result<String> {
    if runtime.image(PAUSE_IMAGE).await?.is_some() {
        return Ok(PAUSE_IMAGE.to_string());
    }
    let arch = runtime.engine_info().await?.arch;
    let executable = pause_executable(&arch).ok_or_else(|| {
        RuntimeError::Engine(format!("ecsbox has no namespace holder for the engine's architecture {arch}; awsvpc tasks need x86_64 or aarch64"))
    })?;
    runtime
        .import_image(
            single_file_tar("pause", &executable),
            PAUSE_IMAGE,
            &["/pause".to_string()],
        )
        .await?;
    Ok(PAUSE_IMAGE.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_are_well_formed_elf() {
        for arch in ["x86_64", "aarch64"] {
            let elf = pause_executable(arch).unwrap();
            assert_eq!(&elf[..4], b"\x7fELF");
            let entry = u64::from_le_bytes(elf[24..32].try_into().unwrap());
            assert_eq!(entry, 0x40_0000 + 120);
            let filesz = u64::from_le_bytes(elf[64 + 32..64 + 40].try_into().unwrap());
            assert_eq!(filesz as usize, elf.len());
        }
        assert!(pause_executable("mips").is_none());
    }

    #[test]
    fn tar_header_is_ustar_with_a_valid_checksum() {
        let tar = single_file_tar("pause", b"abc");
        assert_eq!(tar.len(), 512 + 512 + 1024);
        assert_eq!(&tar[257..262], b"ustar");
        let stored = u32::from_str_radix(std::str::from_utf8(&tar[148..154]).unwrap(), 8).unwrap();
        let mut h = tar[..512].to_vec();
        h[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, h.iter().map(|&b| b as u32).sum::<u32>());
        assert_eq!(&tar[512..515], b"abc");
    }

    /// Runs the x86_64 executable on this machine when it is one: it must
    /// block (still alive after a moment), not crash.
    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn the_x86_64_executable_blocks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ecsbox-pause-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pause");
        std::fs::write(&path, pause_executable("x86_64").unwrap()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut child = std::process::Command::new(&path).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let still_running = child.try_wait().unwrap().is_none();
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(still_running, "the pause executable exited");
    }
}

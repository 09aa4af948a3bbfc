//! CPU time and resident memory of a process, from `/proc`, and the process that listens
//! on a TCP port.

use std::fs;
use std::io;
use std::path::Path;
use std::time::Instant;

use nix::unistd::{sysconf, SysconfVar};

/// CPU time and memory of a process at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When the sample was taken.
    pub at: Instant,
    /// User and system CPU time so far, in seconds.
    pub cpu_seconds: f64,
    /// Resident set size, KiB.
    pub rss_kib: u64,
    /// Time the process's threads spent runnable but waiting for a CPU, in seconds: the
    /// second field of `/proc/<pid>/task/<tid>/schedstat`, summed over threads alive now.
    pub runqueue_wait_seconds: f64,
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/status`.
pub fn sample(pid: u32) -> io::Result<Sample> {
    let base = Path::new("/proc").join(pid.to_string());
    let stat = fs::read_to_string(base.join("stat"))?;
    let status = fs::read_to_string(base.join("status"))?;
    Ok(Sample {
        at: Instant::now(),
        cpu_seconds: cpu_seconds(&stat).ok_or_else(|| invalid("/proc/PID/stat"))?,
        rss_kib: rss_kib(&status).ok_or_else(|| invalid("/proc/PID/status"))?,
        runqueue_wait_seconds: runqueue_wait_seconds(&base),
    })
}

/// Sums the run-queue wait of every thread of the process at `base`; 0 where the kernel
/// keeps no scheduler statistics.
fn runqueue_wait_seconds(base: &Path) -> f64 {
    let Ok(tasks) = fs::read_dir(base.join("task")) else {
        return 0.0;
    };
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|task| fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|text| text.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    nanos as f64 / 1e9
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("failed to parse {what}"),
    )
}

/// Clock ticks per second of the times in `/proc/<pid>/stat`.
fn ticks_per_second() -> f64 {
    match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => ticks as f64,
        _ => 100.0,
    }
}

/// User plus system time from the text of `/proc/<pid>/stat`. The command name in
/// parentheses may hold spaces, so fields are counted from the last `)`: utime and stime
/// are fields 14 and 15 of the line.
fn cpu_seconds(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / ticks_per_second())
}

fn rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Datagrams the kernel dropped on arrival at the UDP sockets of process `pid`, because
/// their receive buffers were full: the `drops` column of `/proc/net/udp` and `udp6` for
/// the sockets among the process's file descriptors.
pub fn udp_drops(pid: u32) -> io::Result<u64> {
    let mut inodes = Vec::new();
    for fd in fs::read_dir(Path::new("/proc").join(pid.to_string()).join("fd"))?.flatten() {
        let Ok(target) = fs::read_link(fd.path()) else {
            continue;
        };
        let target = target.to_string_lossy();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
        {
            inodes.push(inode.to_string());
        }
    }
    let mut drops = 0;
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        drops += socket_drops(&text, &inodes);
    }
    Ok(drops)
}

/// Sums the `drops` column (the last) of the rows of a `/proc/net/udp` table whose inode
/// (the tenth column) is one of `inodes`.
fn socket_drops(table: &str, inodes: &[String]) -> u64 {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let inode = fields.get(9)?;
            if !inodes.iter().any(|i| i == inode) {
                return None;
            }
            fields.last()?.parse::<u64>().ok()
        })
        .sum()
}

/// Finds the process that has a TCP socket listening on `port`, among the processes whose
/// file descriptors this user may read.
pub fn pid_listening_on(port: u16) -> io::Result<Option<u32>> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        inodes.extend(listening_inodes(&text, port));
    }
    if inodes.is_empty() {
        return Ok(None);
    }
    for entry in fs::read_dir("/proc")? {
        let entry = entry?;
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            let target = target.to_string_lossy();
            if inodes
                .iter()
                .any(|inode| target == format!("socket:[{inode}]"))
            {
                return Ok(Some(pid));
            }
        }
    }
    Ok(None)
}

/// Inodes of the sockets in a `/proc/net/tcp` table that listen on `port`.
fn listening_inodes(table: &str, port: u16) -> Vec<String> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let local_port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            let listening = *fields.get(3)? == LISTEN && local_port == port;
            listening.then(|| fields.get(9).map(|inode| (*inode).to_string()))?
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_skips_a_command_name_with_spaces() {
        let stat =
            "1234 (tokio (worker) 1) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0";
        let expected = 300.0 / ticks_per_second();
        assert_eq!(cpu_seconds(stat), Some(expected));
    }

    #[test]
    fn rss_reads_kib() {
        let status = "Name:\tprofstage\nVmPeak:\t  900 kB\nVmRSS:\t   51234 kB\nThreads:\t9\n";
        assert_eq!(rss_kib(status), Some(51234));
    }

    #[test]
    fn listening_socket_found_by_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n   1: 0100007F:1F90 0100007F:A000 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0 100 0 0 10 0\n";
        assert_eq!(listening_inodes(table, 8080), vec!["4242".to_string()]);
        assert!(listening_inodes(table, 8081).is_empty());
    }

    #[test]
    fn udp_drops_summed_by_inode() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n 1: 0100007F:4765 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5001 2 0000000000000000 17\n 2: 0100007F:4766 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5002 2 0000000000000000 4\n 3: 0100007F:4767 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5003 2 0000000000000000 100\n";
        let inodes = ["5001".to_string(), "5002".to_string()];
        assert_eq!(socket_drops(table, &inodes), 21);
    }

    #[test]
    fn own_process_is_sampled() {
        let own = sample(std::process::id()).unwrap();
        assert!(own.rss_kib > 0);
        assert!(own.cpu_seconds >= 0.0);
    }
}

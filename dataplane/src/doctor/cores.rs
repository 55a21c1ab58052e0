//! Cores: the pipeline's cores online, its worker cores isolated on the kernel command line
//! (`isolcpus`, `nohz_full`, `rcu_nocbs`), no other busy task pinned to them, and their
//! frequency governor.

use procfs_core::process::{Stat, Status as ProcStatus};
use procfs_core::{KernelCmdline, Uptime};

use super::{cpu_words, parse_cpu_list, Check, Needs, Status, SysRoot};

/// A task using this share of a CPU on average since it started counts as busy.
const BUSY_SHARE: f64 = 0.10;

pub(super) fn checks(root: &SysRoot, needs: &Needs, out: &mut Vec<Check>) {
    let online = root
        .read("/sys/devices/system/cpu/online")
        .and_then(|s| parse_cpu_list(&s))
        .unwrap_or_default();
    if needs.given {
        out.push(cores_online(needs, &online));
    }
    let mut workers: Vec<u32> = needs.workers.iter().map(|(_, c)| *c).collect();
    workers.sort_unstable();
    workers.dedup();
    let cmdline = root
        .parse::<KernelCmdline>("/proc/cmdline")
        .map(|c| c.0)
        .unwrap_or_default();
    out.push(isolation(&cmdline, &online, needs, &workers));
    if needs.given {
        out.push(pinned_tasks(root, &online, &workers));
    }
    let cpus = if needs.given { &workers } else { &online };
    out.push(governor(root, cpus));
}

fn cores_online(needs: &Needs, online: &[u32]) -> Check {
    let mut cores = needs.cores.clone();
    cores.extend(needs.main_core);
    cores.sort_unstable();
    cores.dedup();
    let missing: Vec<u32> = cores
        .iter()
        .copied()
        .filter(|c| !online.contains(c))
        .collect();
    if missing.is_empty() {
        Check::pass(
            "cores online",
            format!("eal.cores {} are online", cpu_words(&cores)),
        )
    } else {
        Check::not_ok(
            "cores online",
            Status::Fail,
            format!(
                "eal.cores: CPU {} not online (online: {})",
                cpu_words(&missing),
                cpu_words(online)
            ),
            "list only online CPUs in eal.cores and workers[].core (cat /sys/devices/system/cpu/online)",
        )
    }
}

/// The CPUs a kernel parameter names: `isolcpus=domain,managed_irq,2-5` (flags skipped),
/// `nohz_full=2-5`, `rcu_nocbs` alone (every CPU, since Linux 6.2). `None` when absent.
fn param_cpus(cmdline: &[String], param: &str, online: &[u32]) -> Option<Vec<u32>> {
    let arg = cmdline
        .iter()
        .rev()
        .find(|a| a.as_str() == param || a.starts_with(&format!("{param}=")))?;
    let Some(value) = arg.strip_prefix(&format!("{param}=")) else {
        return Some(if param == "rcu_nocbs" {
            online.to_vec()
        } else {
            Vec::new()
        });
    };
    let mut cpus: Vec<u32> = value
        .split(',')
        .filter_map(parse_cpu_list)
        .flatten()
        .collect();
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

/// One check over the three parameters: each must list every worker core.
fn isolation(cmdline: &[String], online: &[u32], needs: &Needs, workers: &[u32]) -> Check {
    let name = "cores isolated";
    let wanted = if workers.is_empty() {
        "CPUS".to_string()
    } else {
        cpu_words(workers)
    };
    let fix = format!(
        "add isolcpus={wanted} nohz_full={wanted} rcu_nocbs={wanted}{} to GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot",
        if workers.is_empty() { " (the worker cores)" } else { "" }
    );
    let mut found = Vec::new();
    let mut short = Vec::new();
    for param in ["isolcpus", "nohz_full", "rcu_nocbs"] {
        match param_cpus(cmdline, param, online) {
            None => short.push(format!("no {param}")),
            Some(listed) => {
                let missing: Vec<u32> = workers
                    .iter()
                    .copied()
                    .filter(|c| !listed.contains(c))
                    .collect();
                if missing.is_empty() {
                    found.push(format!("{param}={}", cpu_words(&listed)));
                } else {
                    short.push(format!(
                        "{param}={} lacks CPU {}",
                        cpu_words(&listed),
                        cpu_words(&missing)
                    ));
                }
            }
        }
    }
    if short.is_empty() {
        let whose = if needs.given {
            format!("worker cores {} isolated: ", cpu_words(workers))
        } else {
            String::new()
        };
        Check::pass(name, format!("{whose}{}", found.join(" ")))
    } else {
        Check::not_ok(
            name,
            Status::Warn,
            format!(
                "{} on the kernel command line: the scheduler, the timer tick and RCU callbacks still interrupt {}",
                short.join(", "),
                if workers.is_empty() {
                    "every core".to_string()
                } else {
                    format!("the worker cores ({})", cpu_words(workers))
                }
            ),
            fix,
        )
    }
}

/// Clock ticks per second of `/proc/PID/stat`'s times.
fn ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|t| *t > 0)
        .map_or(100.0, |t| t as f64)
}

/// Whether a `/proc/.../stat` line has the shape `PID (COMM) STATE ...` that the parser expects.
fn stat_well_formed(text: &str) -> bool {
    match (text.find(" ("), text.rfind(") ")) {
        (Some(open), Some(close)) => open > 0 && close > open,
        _ => false,
    }
}

/// Other tasks allowed on only some CPUs, among them a worker core, that are busy.
fn pinned_tasks(root: &SysRoot, online: &[u32], workers: &[u32]) -> Check {
    let name = "pinned tasks";
    if workers.is_empty() {
        return Check::pass(name, "the pipeline has no workers");
    }
    let hz = ticks_per_second();
    let uptime = root.parse::<Uptime>("/proc/uptime").map(|u| u.uptime);
    let me = root.link_name("/proc/self");
    let mut busy = Vec::new();
    for pid in root.list("/proc") {
        if !pid.bytes().all(|b| b.is_ascii_digit()) || Some(&pid) == me.as_ref() {
            continue;
        }
        let process: Option<ProcStatus> = root.parse(&format!("/proc/{pid}/status"));
        if process.as_ref().is_some_and(|s| s.name == "qdp") {
            continue;
        }
        let mut tasks: Vec<String> = root
            .list(&format!("/proc/{pid}/task"))
            .into_iter()
            .map(|t| format!("/proc/{pid}/task/{t}"))
            .collect();
        if tasks.is_empty() {
            tasks.push(format!("/proc/{pid}"));
        }
        for task in tasks {
            let Some(status) = root.parse::<ProcStatus>(&format!("{task}/status")) else {
                continue;
            };
            let Some(ranges) = &status.cpus_allowed_list else {
                continue;
            };
            let allowed: Vec<u32> = ranges.iter().flat_map(|&(a, b)| a..=b).collect();
            let on_workers: Vec<u32> = workers
                .iter()
                .copied()
                .filter(|c| allowed.contains(c))
                .collect();
            if on_workers.is_empty() || online.iter().all(|c| allowed.contains(c)) {
                continue;
            }
            let stat_path = format!("{task}/stat");
            if !root.read(&stat_path).is_some_and(|t| stat_well_formed(&t)) {
                continue;
            }
            let Some(stat) = root.parse::<Stat>(&stat_path) else {
                continue;
            };
            let cpu_s = (stat.utime + stat.stime) as f64 / hz;
            let life = uptime.map_or(0.0, |u| u - stat.starttime as f64 / hz);
            let share = if life > 0.0 { cpu_s / life } else { 0.0 };
            if share >= BUSY_SHARE {
                busy.push(format!(
                    "{} (pid {pid}, task {}) on CPU {}, {:.0} % busy",
                    stat.comm,
                    stat.pid,
                    cpu_words(&allowed),
                    share * 100.0
                ));
            }
        }
    }
    if busy.is_empty() {
        Check::pass(
            name,
            format!("no other busy task pinned to CPU {}", cpu_words(workers)),
        )
    } else {
        Check::not_ok(
            name,
            Status::Warn,
            format!("busy tasks pinned to worker cores: {}", busy.join("; ")),
            format!(
                "move them off CPU {} (taskset -a -pc CPUS PID) or stop them",
                cpu_words(workers)
            ),
        )
    }
}

fn governor(root: &SysRoot, cpus: &[u32]) -> Check {
    let name = "cpu governor";
    let mut slow = Vec::new();
    let mut seen = 0;
    for cpu in cpus {
        if let Some(g) = root.read(&format!(
            "/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor"
        )) {
            seen += 1;
            if g != "performance" {
                slow.push(format!("CPU {cpu}: {g}"));
            }
        }
    }
    if seen == 0 {
        Check::pass(
            name,
            "no cpufreq in sysfs: the kernel does not scale these CPUs' frequency (a VM or a fixed clock)",
        )
    } else if slow.is_empty() {
        Check::pass(name, format!("performance on CPU {}", cpu_words(cpus)))
    } else {
        Check::not_ok(
            name,
            Status::Warn,
            format!("{}: a polling core may run below full speed", slow.join(", ")),
            format!(
                "sudo cpupower -c {} frequency-set -g performance (or write performance to /sys/devices/system/cpu/cpuN/cpufreq/scaling_governor)",
                cpu_words(cpus)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn kernel_parameters_name_their_cpus() {
        let c = args("ro isolcpus=domain,managed_irq,2-3,5 nohz_full=2-3 rcu_nocbs quiet");
        assert_eq!(param_cpus(&c, "isolcpus", &[0, 1]), Some(vec![2, 3, 5]));
        assert_eq!(param_cpus(&c, "nohz_full", &[0, 1]), Some(vec![2, 3]));
        assert_eq!(param_cpus(&c, "rcu_nocbs", &[0, 1, 2]), Some(vec![0, 1, 2]));
        assert_eq!(param_cpus(&c, "irqaffinity", &[0]), None);
        assert_eq!(
            param_cpus(&args("isolcpus=1 isolcpus=4"), "isolcpus", &[]),
            Some(vec![4]),
            "the last one counts"
        );
    }

    #[test]
    fn malformed_stat_lines_are_skipped() {
        assert!(stat_well_formed("12 (a b) S 1 2"));
        assert!(stat_well_formed("12 (x) y) R 1"));
        assert!(!stat_well_formed("(x) S"));
        assert!(!stat_well_formed("12 x S"));
        assert!(!stat_well_formed("12 (x)"));
    }
}

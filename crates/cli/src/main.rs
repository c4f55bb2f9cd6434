//! The `spindle` command: YARN daemons and client tools in one binary, in the spirit of `yarn`.

mod commands;

/// mimalloc instead of glibc's malloc. Measured on the whole-RM benchmark (BENCHMARKS.md): about
/// a third less RM CPU per allocation (the RM allocates and frees small records on every call
/// from two runtime threads) and less than half the RSS per running container, where glibc kept
/// the peak of a burst of allocations resident. Built with mimalloc's `no_thp` feature: it does
/// not `madvise` its arenas for transparent huge pages, which under the common THP "madvise"
/// setting made the heap resident in 2 MB steps (~8 MB more at start, 1,250-2,300 B instead of
/// 750-1,050 B of RSS per registered NM, at the same CPU per allocation).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "spindle",
    version,
    about = "Apache Hadoop YARN, rewritten in Rust"
)]
struct Cli {
    /// Directory with yarn-site.xml and core-site.xml (default: $YARN_CONF_DIR, then $HADOOP_CONF_DIR).
    #[arg(long, global = true)]
    conf_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a ResourceManager.
    Resourcemanager,
    /// Run a NodeManager.
    Nodemanager,
    /// Run an RM and several NMs in one process, and write a client configuration directory; the
    /// RM reads its scheduler (class, capacity-scheduler.xml or the Fair allocation file) and RM
    /// keys from --conf-dir.
    Minicluster(commands::minicluster::MiniclusterArgs),
    /// Run the demonstration: a minicluster and distributed-shell applications.
    Demo(commands::demo::DemoArgs),
    /// Applications: -list [-appStates S,..] [-appTypes T,..], -status ID, -kill ID (like `yarn application`).
    #[command(disable_help_flag = true)]
    Application {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Nodes: -list [-all] [-states S,..], -status NODE_ID (like `yarn node`).
    #[command(disable_help_flag = true)]
    Node {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Application attempts: -list APP_ID, -status ATTEMPT_ID (like `yarn applicationattempt`).
    #[command(disable_help_flag = true)]
    Applicationattempt {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Containers: -list ATTEMPT_ID, -status CONTAINER_ID (like `yarn container`).
    #[command(disable_help_flag = true)]
    Container {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// A live view of queues and applications, redrawn every few seconds (like `yarn top`).
    Top(commands::top::TopArgs),
    /// Queues: -status QUEUE (like `yarn queue`).
    #[command(disable_help_flag = true)]
    Queue {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Container logs of an application, aggregated or local: -applicationId ID [-containerId C] [-log_files F,..] [-size N] (like `yarn logs`).
    #[command(disable_help_flag = true)]
    Logs {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Administration: -refreshQueues re-reads the scheduler files (like `yarn rmadmin`).
    #[command(disable_help_flag = true)]
    Rmadmin {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Replay an SLS trace or a synthetic workload against the scheduling core and write a report.
    Sim(Box<commands::sim::SimArgs>),
    /// Benchmarks: `bench scheduler` measures the scheduling core (allocations/s, latency),
    /// `bench scaling` plots how its cost grows.
    Bench(commands::sim::BenchArgs),
    /// The fault suite: real daemons under concurrent applications, one fault per scenario
    /// (RM or NM killed and restarted, AM or container killed); reports what was lost.
    Faults(commands::faults::FaultsArgs),
    /// The soak test: real daemons run rounds of many short containers; reports the daemons'
    /// memory and open files after each round and their growth per 10,000 containers.
    Soak(commands::soak::SoakArgs),
    /// Run a command in N containers (YARN's distributed shell).
    Dshell(commands::dshell::DshellArgs),
    /// The distributed shell's ApplicationMaster (started by `dshell` inside the AM container).
    #[command(hide = true)]
    DshellAm(commands::dshell::DshellAmArgs),
}

fn main() {
    let cli = Cli::parse();
    // Daemons log what they do; the interactive tools only warnings, unless SPINDLE_LOG says otherwise.
    let default_level = match cli.command {
        Command::Resourcemanager | Command::Nodemanager | Command::Minicluster(_) => "info",
        _ => "warn",
    };
    commands::init_logging(default_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => fail(anyhow::anyhow!("could not start the async runtime: {e}")),
    };
    let conf_dir = cli.conf_dir;
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Resourcemanager => {
                commands::daemons::resourcemanager(conf_dir.as_deref()).await
            }
            Command::Nodemanager => commands::daemons::nodemanager(conf_dir.as_deref()).await,
            Command::Minicluster(args) => {
                commands::minicluster::run(conf_dir.as_deref(), args).await
            }
            Command::Demo(args) => commands::demo::run(args).await,
            Command::Application { args } => {
                commands::application::run(conf_dir.as_deref(), &args).await
            }
            Command::Node { args } => commands::node::run(conf_dir.as_deref(), &args).await,
            Command::Applicationattempt { args } => {
                commands::attempts::run(
                    commands::attempts::Subject::ApplicationAttempt,
                    conf_dir.as_deref(),
                    &args,
                )
                .await
            }
            Command::Container { args } => {
                commands::attempts::run(
                    commands::attempts::Subject::Container,
                    conf_dir.as_deref(),
                    &args,
                )
                .await
            }
            Command::Top(args) => commands::top::run(conf_dir.as_deref(), args).await,
            Command::Queue { args } => commands::queue::run(conf_dir.as_deref(), &args).await,
            Command::Logs { args } => commands::logs::run(conf_dir.as_deref(), &args).await,
            Command::Rmadmin { args } => commands::rmadmin::run(conf_dir.as_deref(), &args).await,
            Command::Sim(args) => commands::sim::run(conf_dir.as_deref(), *args),
            Command::Bench(args) => commands::sim::run_bench(args),
            Command::Faults(args) => commands::faults::run(args).await,
            Command::Soak(args) => commands::soak::run(args).await,
            Command::Dshell(args) => commands::dshell::run(conf_dir.as_deref(), args).await,
            Command::DshellAm(args) => commands::dshell::run_am(args).await,
        }
    });
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => fail(e),
    }
}

/// A user's mistake (an unreachable RM, a bad id, a bad file) or a failed start: one line with the
/// error and its causes, never a backtrace, whatever RUST_BACKTRACE says. Panics are bugs and
/// keep theirs (`commands::fatal_panics`).
fn fail(error: anyhow::Error) -> ! {
    eprintln!("spindle: {error:#}");
    std::process::exit(1);
}

package spindle.compat;

import java.io.File;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.ApplicationSubmissionContext;
import org.apache.hadoop.yarn.api.records.ContainerLaunchContext;
import org.apache.hadoop.yarn.api.records.NodeReport;
import org.apache.hadoop.yarn.api.records.Resource;
import org.apache.hadoop.yarn.api.records.YarnClusterMetrics;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.client.api.YarnClientApplication;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.exceptions.YarnException;

/**
 * Drives Spindle's ResourceManager with the real Hadoop 3.5.0 YarnClient (from pyspark's jars) and
 * prints what the client saw as key=value lines on stdout.
 *
 * <p>Usage: {@code YarnCompat <command> <hadoop-conf-dir> [args] [-Dkey=value ...]}. Exit status: 0 on success; 2 when
 * the RM answered with a YARN exception (its class is printed as {@code exception=...} on stdout and
 * stderr); 1 for any other failure (connection, timeout, protocol), class name on stderr; 64 for
 * bad usage. Logging goes to stderr only.
 */
public final class YarnCompat {
    private static final int EXIT_OK = 0;
    private static final int EXIT_FAILURE = 1;
    private static final int EXIT_YARN_EXCEPTION = 2;
    private static final int EXIT_USAGE = 64;

    private static final String USAGE = String.join("\n",
            "usage: YarnCompat <command> <hadoop-conf-dir> [args] [-Dkey=value ...]",
            "commands:",
            "  new-app                 createApplication: application_id, maximum_capability_*",
            "  cluster-metrics         getYarnClusterMetrics: num_node_managers, ...",
            "  app-report <app-id>     getApplicationReport: state, final_status, ...",
            "  apps                    getApplications: application_count, app.N.*",
            "  kill-app <app-id>       killApplication",
            "  nodes                   getNodeReports: node_count, node.N.*",
            "  submit <count> <cmd>    createApplication + submitApplication, count times: submitted.N",
            "-Dkey=value sets a Hadoop key after the conf dir and the fast-failure settings.");

    private final PrintStream out;

    private YarnCompat(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) {
        // Before any Hadoop class initializes logging: all log output to stderr.
        if (System.getProperty("log4j2.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", "spindle-compat-log4j2.properties");
        }
        System.exit(run(args));
    }

    private static int run(String[] args) {
        if (args.length < 2) {
            System.err.println(USAGE);
            return EXIT_USAGE;
        }
        String command = args[0];
        File confDir = new File(args[1]);
        List<String> rest = new ArrayList<>();
        List<String[]> overrides = new ArrayList<>();
        for (String argument : Arrays.asList(args).subList(2, args.length)) {
            if (argument.startsWith("-D") && argument.indexOf('=') > 2) {
                int equals = argument.indexOf('=');
                overrides.add(new String[] {argument.substring(2, equals), argument.substring(equals + 1)});
            } else {
                rest.add(argument);
            }
        }
        if (!confDir.isDirectory()) {
            System.err.println("not a directory: " + confDir);
            return EXIT_USAGE;
        }
        YarnCompat compat = new YarnCompat(System.out);
        YarnClient client = YarnClient.createYarnClient();
        try {
            Configuration conf = clientConfiguration(confDir);
            for (String[] override : overrides) {
                conf.set(override[0], override[1]);
            }
            client.init(conf);
            client.start();
            return compat.dispatch(client, command, rest);
        } catch (YarnException e) {
            compat.printException(e, true);
            return EXIT_YARN_EXCEPTION;
        } catch (Throwable e) {
            compat.printException(e, false);
            return EXIT_FAILURE;
        } finally {
            try {
                client.stop();
            } catch (Throwable ignored) {
                // Stopping must not hide the result.
            }
            System.out.flush();
        }
    }

    /** The conf dir's site files, plus retry settings that make a broken RM fail in seconds, not 15 minutes. */
    static Configuration clientConfiguration(File confDir) {
        YarnConfiguration conf = new YarnConfiguration();
        for (String name : new String[] {"core-site.xml", "yarn-site.xml"}) {
            File file = new File(confDir, name);
            if (file.isFile()) {
                conf.addResource(new Path(file.getAbsolutePath()));
            }
        }
        conf.set("yarn.resourcemanager.connect.max-wait.ms", "10000");
        conf.set("yarn.resourcemanager.connect.retry-interval.ms", "1000");
        // Per connection attempt: fail at once on a refused connection; RMProxy does the retrying.
        conf.set("ipc.client.connect.max.retries", "0");
        conf.set("ipc.client.connect.max.retries.on.timeouts", "0");
        conf.set("ipc.client.connect.timeout", "5000");
        // A call the RM never answers fails after 5 s instead of 2 minutes. RMProxy retries it
        // (max-wait / retry-interval = 10 times), so a hanging RM fails in about a minute.
        conf.set("ipc.client.rpc-timeout.ms", "5000");
        return conf;
    }

    private int dispatch(YarnClient client, String command, List<String> rest) throws Exception {
        switch (command) {
            case "new-app":
                return newApp(client);
            case "cluster-metrics":
                return clusterMetrics(client);
            case "app-report":
                return appReport(client, single(command, rest));
            case "apps":
                return apps(client);
            case "kill-app":
                client.killApplication(ApplicationId.fromString(single(command, rest)));
                print("killed", "true");
                return EXIT_OK;
            case "nodes":
                return nodes(client);
            case "submit":
                return submit(client, command, rest);
            default:
                System.err.println("unknown command '" + command + "'\n" + USAGE);
                return EXIT_USAGE;
        }
    }

    private static String single(String command, List<String> rest) {
        if (rest.size() != 1) {
            throw new IllegalArgumentException(command + " takes exactly one argument, got " + rest);
        }
        return rest.get(0);
    }

    private int newApp(YarnClient client) throws Exception {
        YarnClientApplication application = client.createApplication();
        print("application_id", application.getNewApplicationResponse().getApplicationId());
        printResource("maximum_capability", application.getNewApplicationResponse().getMaximumResourceCapability());
        return EXIT_OK;
    }

    /**
     * Submits {@code count} applications one after another, each with a 256 MB AM running
     * {@code cmd}, and prints {@code submitted.<i>=<application id>} (flushed) as each submission
     * returns, so that a test can act between submissions. With {@code SPINDLE_COMPAT_HOLD=<i>:<file>}
     * in the environment, the i-th application's id is printed as {@code created.<i>} after
     * createApplication, and its submitApplication waits until {@code file} exists (a test kills
     * the RM that issued the id in between).
     */
    private int submit(YarnClient client, String command, List<String> rest) throws Exception {
        if (rest.size() != 2) {
            throw new IllegalArgumentException(command + " takes <count> <cmd>, got " + rest);
        }
        int count = Integer.parseInt(rest.get(0));
        String hold = System.getenv("SPINDLE_COMPAT_HOLD");
        int holdIndex = hold == null ? -1 : Integer.parseInt(hold.substring(0, hold.indexOf(':')));
        File holdFile = hold == null ? null : new File(hold.substring(hold.indexOf(':') + 1));
        for (int index = 0; index < count; index++) {
            YarnClientApplication application = client.createApplication();
            if (index == holdIndex) {
                print("created." + index, application.getNewApplicationResponse().getApplicationId());
                out.flush();
                while (!holdFile.exists()) {
                    Thread.sleep(50);
                }
            }
            ApplicationSubmissionContext context = application.getApplicationSubmissionContext();
            context.setApplicationName("compat-submit-" + index);
            context.setQueue("default");
            context.setResource(Resource.newInstance(256, 1));
            context.setMaxAppAttempts(1);
            context.setAMContainerSpec(ContainerLaunchContext.newInstance(
                    null, null, List.of(rest.get(1)), null, null, null));
            ApplicationId id = client.submitApplication(context);
            print("submitted." + index, id);
            out.flush();
        }
        print("submitted_count", count);
        return EXIT_OK;
    }

    private int clusterMetrics(YarnClient client) throws Exception {
        YarnClusterMetrics metrics = client.getYarnClusterMetrics();
        print("num_node_managers", metrics.getNumNodeManagers());
        print("num_active_node_managers", metrics.getNumActiveNodeManagers());
        print("num_lost_node_managers", metrics.getNumLostNodeManagers());
        print("num_unhealthy_node_managers", metrics.getNumUnhealthyNodeManagers());
        print("num_decommissioned_node_managers", metrics.getNumDecommissionedNodeManagers());
        return EXIT_OK;
    }

    private int appReport(YarnClient client, String applicationId) throws Exception {
        printApplication("", client.getApplicationReport(ApplicationId.fromString(applicationId)));
        return EXIT_OK;
    }

    private int apps(YarnClient client) throws Exception {
        List<ApplicationReport> reports = new ArrayList<>(client.getApplications());
        reports.sort((left, right) -> left.getApplicationId().compareTo(right.getApplicationId()));
        print("application_count", reports.size());
        for (int index = 0; index < reports.size(); index++) {
            printApplication("app." + index + ".", reports.get(index));
        }
        return EXIT_OK;
    }

    private void printApplication(String prefix, ApplicationReport report) {
        print(prefix + "application_id", report.getApplicationId());
        print(prefix + "state", report.getYarnApplicationState());
        print(prefix + "final_status", report.getFinalApplicationStatus());
        print(prefix + "name", report.getName());
        print(prefix + "queue", report.getQueue());
        print(prefix + "user", report.getUser());
        print(prefix + "application_type", report.getApplicationType());
        print(prefix + "current_attempt_id", report.getCurrentApplicationAttemptId());
        print(prefix + "host", report.getHost());
        print(prefix + "rpc_port", report.getRpcPort());
        print(prefix + "tracking_url", report.getTrackingUrl());
        print(prefix + "diagnostics", report.getDiagnostics());
        print(prefix + "progress", report.getProgress());
    }

    private int nodes(YarnClient client) throws Exception {
        List<NodeReport> reports = new ArrayList<>(client.getNodeReports());
        reports.sort((left, right) -> left.getNodeId().toString().compareTo(right.getNodeId().toString()));
        print("node_count", reports.size());
        for (int index = 0; index < reports.size(); index++) {
            NodeReport report = reports.get(index);
            String prefix = "node." + index + ".";
            print(prefix + "id", report.getNodeId());
            print(prefix + "state", report.getNodeState());
            print(prefix + "http_address", report.getHttpAddress());
            print(prefix + "rack", report.getRackName());
            print(prefix + "num_containers", report.getNumContainers());
            printResource(prefix + "capability", report.getCapability());
            printResource(prefix + "used", report.getUsed());
            print(prefix + "health_report", report.getHealthReport());
        }
        return EXIT_OK;
    }

    private void printResource(String prefix, Resource resource) {
        if (resource == null) {
            print(prefix, null);
            return;
        }
        print(prefix + "_memory_mb", resource.getMemorySize());
        print(prefix + "_vcores", resource.getVirtualCores());
    }

    /** One key=value line; newlines in values are escaped so that every line stays one pair. */
    private void print(String key, Object value) {
        String text = value == null ? "" : value.toString();
        out.println(key + "=" + text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r"));
    }

    private void printException(Throwable error, boolean fromResourceManager) {
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = String.valueOf(error.getMessage()).split("\n", 2)[0];
        if (fromResourceManager) {
            print("exception", error.getClass().getName());
            print("exception_message", message);
        }
        System.err.println("exception=" + error.getClass().getName());
        System.err.println("exception_message=" + message);
        System.err.println("root_cause=" + root.getClass().getName());
        if (System.getenv("SPINDLE_COMPAT_STACK_TRACES") != null) {
            error.printStackTrace(System.err);
        }
    }
}

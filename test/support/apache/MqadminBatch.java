// Runs several official mqadmin commands (org.apache.rocketmq.tools.command.MQAdminStartup, the class
// the mqadmin script starts) in one JVM, so a test pays for one JVM start instead of one per command.
// Input: a file, one command per line, arguments separated by TAB. Before each command a line
// "@@@MQADMIN <n>@@@" goes to stdout and to stderr; after the last, "@@@MQADMIN END@@@".
// Started by mqadmin-batch.sh (single-file source launch, JDK 11+).
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;

public class MqadminBatch {
    public static void main(String[] args) throws Exception {
        List<String> lines = Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8);
        int n = 0;
        for (String line : lines) {
            if (line.isEmpty()) {
                continue;
            }
            String marker = "@@@MQADMIN " + n++ + "@@@";
            System.out.println();
            System.out.println(marker);
            System.out.flush();
            System.err.println(marker);
            System.err.flush();
            org.apache.rocketmq.tools.command.MQAdminStartup.main0(line.split("\t"), null);
            System.out.flush();
            System.err.flush();
        }
        System.out.println();
        System.out.println("@@@MQADMIN END@@@");
        System.out.flush();
        // client threads (netty, schedulers) of the last command may linger: do not wait for them
        System.exit(0);
    }
}

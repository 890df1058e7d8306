// Starts mongo-java-server (a MongoDB wire-protocol server) for the local stack.
// FerretDB cannot be fetched here (see README, "Local stack"), so this is the
// MongoDB-protocol server of `make infra-up`. The library's own main() binds
// localhost:27017, which collides with a system MongoDB, hence this launcher.
//
// Usage: java -cp '<jars>/*' MongoServerMain.java HOST PORT [H2_FILE]
// Without H2_FILE the data lives in memory only.
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

public class MongoServerMain {
    public static void main(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: MongoServerMain HOST PORT [H2_FILE]");
            System.exit(2);
        }
        int port = Integer.parseInt(args[1]);
        MongoServer server = new MongoServer(
            args.length == 3 ? new H2Backend(args[2]) : new MemoryBackend());
        server.bind(args[0], port);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown));
        System.out.println("mongo-java-server listening on " + args[0] + ":" + port);
        Thread.currentThread().join();
    }
}

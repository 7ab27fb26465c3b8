// Starts DynamoDB Local (its own ServerRunner, on the jar's classpath) with every Jetty connector bound to
// 127.0.0.1: DynamoDB Local has no bind-address option and otherwise listens on every interface.
// Run by cruddur in Java's source-file mode: java -cp DynamoDBLocal.jar LoopbackDynamoDBLocal.java <its options>
//
// Given a key as the first line of its standard input (never in argv: /proc/<pid>/cmdline is readable by
// everyone), a gate in front of DynamoDB Local's Jetty handler answers 403 to every request whose SigV4 access key id
// (Authorization: AWS4-HMAC-SHA256 Credential=<key id>/...) is not that key: another local account, which cannot
// read the key file (0600), gets nothing from the engine. DynamoDB Local 11.1.0 ships Jetty 12 (Handler.Wrapper).
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

public class LoopbackDynamoDBLocal {
    static final class Gate extends Handler.Wrapper {
        private final byte[] key;

        Gate(Handler inner, String key) {
            super(inner);
            this.key = key.getBytes(StandardCharsets.UTF_8);
        }

        private boolean allowed(String authorization) {
            if (authorization == null) {
                return false;
            }
            int at = authorization.indexOf("Credential=");
            if (at < 0) {
                return false;
            }
            int end = authorization.indexOf('/', at);
            if (end < 0) {
                return false;
            }
            byte[] given = authorization.substring(at + 11, end).getBytes(StandardCharsets.UTF_8);
            return MessageDigest.isEqual(given, key);
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            if (allowed(request.getHeaders().get(HttpHeader.AUTHORIZATION))) {
                return super.handle(request, response, callback);
            }
            response.setStatus(403);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/x-amz-json-1.0");
            String body = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#UnrecognizedClientException\","
                + "\"message\":\"cruddur: this DynamoDB Local is private to the user who started it; use the "
                + "access key `cruddur local env` exports\"}";
            response.write(true, java.nio.ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }

    public static void main(String[] args) throws Exception {
        Class<?> runner = Class.forName("software.amazon.dynamodb.services.local.main.ServerRunner");
        Object proxy = runner.getMethod("createServerFromCommandLineArgs", String[].class).invoke(null, (Object) args);
        Class<?> jettyServer = Class.forName("org.eclipse.jetty.server.Server");
        Object jetty = null;
        for (Field field : proxy.getClass().getDeclaredFields()) {
            if (jettyServer.isAssignableFrom(field.getType())) {
                field.setAccessible(true);
                jetty = field.get(proxy);
            }
        }
        if (jetty == null) {
            throw new IllegalStateException("no Jetty server inside " + proxy.getClass().getName());
        }
        Object[] connectors = (Object[]) jettyServer.getMethod("getConnectors").invoke(jetty);
        if (connectors.length == 0) {
            throw new IllegalStateException("DynamoDB Local's Jetty server has no connector");
        }
        for (Object connector : connectors) {
            Method setHost = connector.getClass().getMethod("setHost", String.class);
            setHost.invoke(connector, "127.0.0.1");
        }
        String key = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8))
            .readLine();  // null at once when stdin is /dev/null: no gate
        if (key != null && !key.isEmpty()) {
            org.eclipse.jetty.server.Server server = (org.eclipse.jetty.server.Server) jetty;
            server.setHandler(new Gate(server.getHandler(), key));
            System.out.println("cruddur: DynamoDB Local answers only requests signed with this data dir's key");
        }
        proxy.getClass().getMethod("start").invoke(proxy);
        System.out.println("cruddur: DynamoDB Local listens on 127.0.0.1 only");
    }
}

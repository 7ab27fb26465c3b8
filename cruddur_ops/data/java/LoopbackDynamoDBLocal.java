// Starts DynamoDB Local (its own ServerRunner, on the jar's classpath) with every Jetty connector bound to
// 127.0.0.1: DynamoDB Local has no bind-address option and otherwise listens on every interface.
// Run by cruddur in Java's source-file mode: java -cp DynamoDBLocal.jar LoopbackDynamoDBLocal.java <its options>
import java.lang.reflect.Field;
import java.lang.reflect.Method;

public class LoopbackDynamoDBLocal {
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
        proxy.getClass().getMethod("start").invoke(proxy);
        System.out.println("cruddur: DynamoDB Local listens on 127.0.0.1 only");
    }
}

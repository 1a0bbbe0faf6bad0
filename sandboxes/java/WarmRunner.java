// The warm JVM of patchwarden's Java validation (driven by sandboxes/jvm_warm.py).
//
// One long-lived JVM per sandbox. Its own class path holds only this class and the JUnit
// Platform launcher with the jars the launcher needs (platform engine, commons, opentest4j,
// apiguardian), the very versions surefire used for the project. Each request compiles the
// candidate's changed sources in-process (javax.tools, the project's own javac options) into a
// fresh directory, then runs the selected tests through the launcher inside a NEW
// URLClassLoader (fresh classes dir, test classes, classes, every dependency jar), so no static
// state, loaded class or engine survives from one candidate to the next.
//
// Protocol (stdin, one "key value" per line, a block ends with "end"):
//   first block (session): classes DIR, testclasses DIR, dep JAR (repeated), javacopt OPT (repeated)
//   each request: id N, out DIR, src FILE (repeated), testsrc true|false,
//                 select class NAME | select method CLASS#name(params) (repeated)
// Reply: one JSON line on stdout per request:
//   {"id":N,"status":"ok"|"compile-error"|"doubt","message":"...","tests":[{classname,name,status,message,trace,time}]}
// Test names follow surefire's reports (method name; "m(int)[1]" for template invocations).
// "doubt" means the answer might differ from `mvn test`: the caller then runs the cold path.

import java.io.*;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import java.util.stream.Stream;
import javax.tools.*;

import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestSource;
import org.junit.platform.engine.UniqueId;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

public final class WarmRunner {
    private static PrintStream reply;
    private static Path classes, testClasses;
    private static final List<Path> deps = new ArrayList<>();
    private static final List<String> javacOptions = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        reply = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        // Tests' own output must not mix with the replies (nor fill a pipe nobody reads).
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        System.setErr(new PrintStream(OutputStream.nullOutputStream()));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        Map<String, List<String>> session = readBlock(in);
        if (session == null) return;
        classes = Paths.get(one(session, "classes"));
        testClasses = Paths.get(one(session, "testclasses"));
        for (String d : session.getOrDefault("dep", List.of())) deps.add(Paths.get(d));
        javacOptions.addAll(session.getOrDefault("javacopt", List.of()));
        reply.println("{\"ready\":true}");
        Map<String, List<String>> request;
        while ((request = readBlock(in)) != null) {
            String id = one(request, "id");
            String answer;
            try {
                answer = handle(id, request);
            } catch (Throwable t) {
                answer = result(id, "doubt", "the warm runner failed: " + t, "[]");
            }
            reply.println(answer);
            for (String dir : request.getOrDefault("cleanup", List.of())) deleteTree(Paths.get(dir));
        }
        Runtime.getRuntime().halt(0);  // threads a test left behind must not keep the JVM alive
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) return;
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover request directory costs only disk
        }
    }

    private static Map<String, List<String>> readBlock(BufferedReader in) throws IOException {
        Map<String, List<String>> block = new HashMap<>();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.equals("end")) return block;
            int sp = line.indexOf(' ');
            String key = sp < 0 ? line : line.substring(0, sp);
            block.computeIfAbsent(key, k -> new ArrayList<>()).add(sp < 0 ? "" : line.substring(sp + 1));
        }
        return null;
    }

    private static String one(Map<String, List<String>> block, String key) {
        List<String> values = block.get(key);
        if (values == null || values.isEmpty()) throw new IllegalArgumentException("missing " + key);
        return values.get(0);
    }

    private static String handle(String id, Map<String, List<String>> req) throws Exception {
        Path out = Paths.get(one(req, "out"));
        List<String> sources = req.getOrDefault("src", List.of());
        boolean testSource = "true".equals(req.getOrDefault("testsrc", List.of("false")).get(0));
        if (!sources.isEmpty()) {
            Files.createDirectories(out);
            String error = compile(sources, out, testSource);
            if (error != null) return result(id, "compile-error", error, "[]");
            String doubt = apiChanged(out, testSource ? testClasses : classes);
            if (doubt != null) return result(id, "doubt", doubt, "[]");
        }
        List<URL> urls = new ArrayList<>();
        urls.add(out.toUri().toURL());
        urls.add(testClasses.toUri().toURL());
        urls.add(classes.toUri().toURL());
        for (Path d : deps) urls.add(d.toUri().toURL());
        ClassLoader parent = WarmRunner.class.getClassLoader();
        Thread thread = Thread.currentThread();
        ClassLoader saved = thread.getContextClassLoader();
        try (URLClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]), parent)) {
            thread.setContextClassLoader(loader);
            List<DiscoverySelector> selectors = new ArrayList<>();
            for (String sel : req.getOrDefault("select", List.of())) selectors.add(selector(sel, loader));
            Recorder recorder = new Recorder();
            if (!selectors.isEmpty()) {
                Launcher launcher = LauncherFactory.create();
                LauncherDiscoveryRequest discovery = LauncherDiscoveryRequestBuilder.request().selectors(selectors).build();
                launcher.execute(discovery, recorder);
            }
            return result(id, "ok", "", recorder.json());
        } finally {
            thread.setContextClassLoader(saved);
        }
    }

    private static DiscoverySelector selector(String sel, ClassLoader loader) throws ClassNotFoundException {
        if (sel.startsWith("class ")) {
            return DiscoverySelectors.selectClass(Class.forName(sel.substring(6), false, loader));
        }
        if (sel.startsWith("method ")) {
            String spec = sel.substring(7);
            int hash = spec.indexOf('#');
            Class<?> cls = Class.forName(spec.substring(0, hash), false, loader);
            String method = spec.substring(hash + 1);
            int paren = method.indexOf('(');
            if (paren < 0) return DiscoverySelectors.selectMethod(cls, method);
            String params = method.substring(paren + 1, method.indexOf(')', paren));
            return DiscoverySelectors.selectMethod(cls, method.substring(0, paren), params);
        }
        throw new IllegalArgumentException("unknown selector " + sel);
    }

    // ---- compiling the changed sources -------------------------------------------------------

    private static String compile(List<String> sources, Path out, boolean testSource) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) return null;
        List<String> cp = new ArrayList<>();
        if (testSource) cp.add(testClasses.toString());
        cp.add(classes.toString());
        for (Path d : deps) cp.add(d.toString());
        Path generated = out.resolveSibling("gen");
        Files.createDirectories(generated);
        List<String> options = new ArrayList<>(javacOptions);
        options.addAll(List.of("-d", out.toString(), "-s", generated.toString(), "-classpath",
                String.join(File.pathSeparator, cp), "-sourcepath", "", "-implicit:none"));
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
            List<File> inputs = new ArrayList<>();
            for (String s : sources) inputs.add(new File(s));
            boolean ok = javac.getTask(null, files, diagnostics, options, null, files.getJavaFileObjectsFromFiles(inputs)).call();
            if (ok) return null;
        }
        StringBuilder text = new StringBuilder();
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() != Diagnostic.Kind.ERROR) continue;
            String where = d.getSource() == null ? "" : Paths.get(d.getSource().toUri()).getFileName() + ":" + d.getLineNumber() + ": ";
            text.append(where).append(d.getMessage(Locale.ROOT)).append('\n');
            if (text.length() > 2000) break;
        }
        return text.length() == 0 ? "javac failed" : text.toString().trim();
    }

    /** Why the newly compiled classes could behave differently from a full build, or null.
     *  Other classes were compiled against the old class files: a changed non-private member,
     *  a changed constant (inlined elsewhere), supertype, or a vanished named nested class
     *  would need them recompiled too, which only the cold build does. */
    private static String apiChanged(Path out, Path oldRoot) throws IOException {
        List<Path> compiled;
        try (Stream<Path> walk = Files.walk(out)) {
            compiled = walk.filter(p -> p.toString().endsWith(".class")).toList();
        }
        Set<String> outers = new HashSet<>();
        for (Path p : compiled) {
            String rel = out.relativize(p).toString();
            Path old = oldRoot.resolve(rel);
            String name = p.getFileName().toString();
            if (!name.contains("$")) outers.add(rel.substring(0, rel.length() - ".class".length()));
            if (!Files.exists(old)) continue;
            String a = ClassApi.of(Files.readAllBytes(old)), b = ClassApi.of(Files.readAllBytes(p));
            if (!a.equals(b)) return "the change alters " + rel + "'s signatures or constants: other classes need recompiling";
        }
        for (String outer : outers) {
            Path dir = oldRoot.resolve(outer).getParent();
            String base = Paths.get(outer).getFileName().toString() + "$";
            if (dir == null || !Files.isDirectory(dir)) continue;
            try (Stream<Path> list = Files.list(dir)) {
                for (Path old : (Iterable<Path>) list::iterator) {
                    String name = old.getFileName().toString();
                    if (!name.startsWith(base) || !name.endsWith(".class")) continue;
                    String nested = name.substring(base.length());
                    boolean anonymous = !nested.isEmpty() && Character.isDigit(nested.charAt(0));
                    if (!anonymous && !Files.exists(out.resolve(oldRoot.relativize(old).toString()))) {
                        return "the change removes the nested class " + name + ": other classes may use it";
                    }
                }
            }
        }
        return null;
    }

    // ---- recording results -------------------------------------------------------------------

    static final class Recorder implements TestExecutionListener {
        private final StringBuilder json = new StringBuilder("[");
        private final Map<String, Long> started = new HashMap<>();

        @Override public void executionStarted(TestIdentifier t) {
            started.put(t.getUniqueId(), System.nanoTime());
        }

        @Override public void executionSkipped(TestIdentifier t, String reason) {
            if (t.isTest()) add(t, "skipped", reason == null ? "" : reason, "", 0.0);
        }

        @Override public void executionFinished(TestIdentifier t, TestExecutionResult r) {
            Long t0 = started.get(t.getUniqueId());
            double secs = t0 == null ? 0.0 : (System.nanoTime() - t0) / 1e9;
            Throwable err = r.getThrowable().orElse(null);
            String status = switch (r.getStatus()) {
                case SUCCESSFUL -> "passed";
                case ABORTED -> "skipped";
                case FAILED -> err instanceof AssertionError ? "failed" : "error";
            };
            // A failed container (e.g. @BeforeAll, a class that cannot load) is one error record.
            if (!t.isTest() && !"error".equals(status) && !"failed".equals(status)) return;
            add(t, status, err == null ? "" : String.valueOf(err.getMessage()), err == null ? "" : trace(err), secs);
        }

        private void add(TestIdentifier t, String status, String message, String trace, double secs) {
            String classname = "", name = t.getDisplayName();
            TestSource source = t.getSource().orElse(null);
            if (source instanceof MethodSource m) {
                classname = m.getClassName();
                name = m.getMethodName();
                List<UniqueId.Segment> segments = UniqueId.parse(t.getUniqueId()).getSegments();
                String last = segments.get(segments.size() - 1).getType();
                if (last.contains("invocation") || last.contains("dynamic")) {
                    String index = segments.get(segments.size() - 1).getValue().replace("#", "");
                    name = name + "(" + m.getMethodParameterTypes() + ")[" + index + "]";
                }
            } else if (source instanceof ClassSource c) {
                classname = c.getClassName();
                name = t.isTest() ? t.getDisplayName() : "";
            }
            if (json.length() > 1) json.append(',');
            json.append("{\"classname\":").append(quote(classname)).append(",\"name\":").append(quote(name))
                .append(",\"status\":").append(quote(status)).append(",\"message\":").append(quote(message))
                .append(",\"trace\":").append(quote(trace)).append(",\"time\":").append(String.format(Locale.ROOT, "%.4f", secs))
                .append('}');
        }

        String json() {
            return json + "]";
        }
    }

    private static String trace(Throwable err) {
        StringWriter w = new StringWriter();
        err.printStackTrace(new PrintWriter(w));
        String s = w.toString();
        return s.length() > 4000 ? s.substring(0, 4000) : s;
    }

    private static String result(String id, String status, String message, String tests) {
        return "{\"id\":" + quote(id) + ",\"status\":" + quote(status) + ",\"message\":" + quote(message) + ",\"tests\":" + tests + "}";
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : (s == null ? "" : s).toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    // ---- a class file's linkage-relevant surface ----------------------------------------------

    /** The parts of a class file other classes depend on when compiled against it: access
     *  flags, super class, interfaces, non-private fields (with constant values, which javac
     *  inlines into other classes) and non-private methods, in declaration order. */
    static final class ClassApi {
        static String of(byte[] bytes) throws IOException {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
            in.readInt();
            in.readUnsignedShort();
            in.readUnsignedShort();
            int count = in.readUnsignedShort();
            Object[] pool = new Object[count];
            int[] refs = new int[count];
            for (int i = 1; i < count; i++) {
                int tag = in.readUnsignedByte();
                switch (tag) {
                    case 1 -> pool[i] = in.readUTF();
                    case 3 -> pool[i] = in.readInt();
                    case 4 -> pool[i] = in.readFloat();
                    case 5 -> { pool[i] = in.readLong(); i++; }
                    case 6 -> { pool[i] = in.readDouble(); i++; }
                    case 7, 8, 16, 19, 20 -> refs[i] = in.readUnsignedShort();
                    case 9, 10, 11, 12, 17, 18 -> { refs[i] = in.readUnsignedShort(); in.readUnsignedShort(); }
                    case 15 -> { in.readUnsignedByte(); in.readUnsignedShort(); }
                    default -> throw new IOException("unknown constant pool tag " + tag);
                }
            }
            StringBuilder api = new StringBuilder();
            api.append("class ").append(in.readUnsignedShort() & ~0x0020);  // ACC_SUPER varies by compiler
            in.readUnsignedShort();  // this
            int sup = in.readUnsignedShort();
            api.append(" extends ").append(sup == 0 ? "" : pool[refs[sup]]);
            int ifaces = in.readUnsignedShort();
            for (int i = 0; i < ifaces; i++) api.append(" implements ").append(pool[refs[in.readUnsignedShort()]]);
            api.append('\n');
            for (int kind = 0; kind < 2; kind++) {
                int members = in.readUnsignedShort();
                for (int i = 0; i < members; i++) {
                    int access = in.readUnsignedShort();
                    String name = (String) pool[in.readUnsignedShort()];
                    String desc = (String) pool[in.readUnsignedShort()];
                    String constant = "";
                    int attrs = in.readUnsignedShort();
                    for (int a = 0; a < attrs; a++) {
                        String attr = (String) pool[in.readUnsignedShort()];
                        int len = in.readInt();
                        if (attr.equals("ConstantValue")) {
                            int idx = in.readUnsignedShort();
                            Object v = pool[idx] != null ? pool[idx] : pool[refs[idx]];
                            constant = " = " + v;
                        } else {
                            in.skipNBytes(len);
                        }
                    }
                    boolean hidden = (access & 0x0002) != 0 || (access & 0x1000) != 0;  // private, synthetic
                    if (!hidden) {
                        api.append(kind == 0 ? "field " : "method ").append(access).append(' ').append(name)
                           .append(' ').append(desc).append(constant).append('\n');
                    }
                }
            }
            return api.toString();
        }
    }
}

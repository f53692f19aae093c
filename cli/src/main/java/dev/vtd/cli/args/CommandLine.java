package dev.vtd.cli.args;

import java.io.PrintWriter;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.lang.reflect.Field;
import java.lang.reflect.ParameterizedType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The {@code vtd} command's argument parser: commands are classes annotated with {@link Command},
 * their options and positional parameters are annotated fields, subcommands are nested commands
 * (instantiated only when chosen). It covers what vtd's commands use and no more: string, boolean,
 * int, long, enum and repeated string options, indexed or variable-arity positional parameters, a
 * field that takes every argument it does not match ({@link Unmatched}), mixins, {@code -h/--help},
 * {@code -V/--version} and a {@code help} subcommand.
 *
 * <p>vtd's own classes are compiled for the current JDK, so the JDK's AOT cache holds them loaded
 * and linked; the command line costs microseconds at start-up.
 */
public final class CommandLine {
    /** {@link Option#defaultValue()} when an option has none. */
    public static final String NO_DEFAULT = "\u0000none";

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.TYPE)
    public @interface Command {
        String name();

        String[] description() default {};

        Class<?>[] subcommands() default {};

        boolean mixinStandardHelpOptions() default false;

        String[] version() default {};
    }

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface Option {
        String[] names();

        String[] description() default {};

        String paramLabel() default "";

        String defaultValue() default NO_DEFAULT;

        boolean required() default false;

        /** "1" on a list: one value per occurrence (the only arity vtd uses). */
        String arity() default "";
    }

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface Parameters {
        /** "0", "1", ...: one value; "" or a range like "1..*" on a list: the rest. */
        String index() default "";

        /** "1..*": at least one value. */
        String arity() default "";

        String paramLabel() default "";

        String[] description() default {};
    }

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface Mixin {}

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface Spec {}

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface Unmatched {}

    /** A wrong command line: the message says what and where. */
    public static final class ParameterException extends RuntimeException {
        private final transient CommandLine commandLine;

        public ParameterException(CommandLine commandLine, String message) {
            super(message);
            this.commandLine = commandLine;
        }

        public CommandLine getCommandLine() {
            return commandLine;
        }
    }

    /** Decides the exit status for a {@link ParameterException}. */
    @FunctionalInterface
    public interface IParameterExceptionHandler {
        int handleParseException(ParameterException ex, String[] args) throws Exception;
    }

    /** Decides the exit status for an exception the command threw. */
    @FunctionalInterface
    public interface IExecutionExceptionHandler {
        int handleExecutionException(Exception ex, CommandLine commandLine, Object parseResult) throws Exception;
    }

    /** What a command sees of its command line ({@code @Spec}). */
    public static final class Model {
        private Model() {
        }

        public static final class CommandSpec {
            private final CommandLine commandLine;

            CommandSpec(CommandLine commandLine) {
                this.commandLine = commandLine;
            }

            public CommandLine commandLine() {
                return commandLine;
            }

            public String name() {
                return commandLine.command.name();
            }
        }
    }

    /** {@code help [COMMAND]}: the usage of the parent command or of one of its subcommands. */
    @Command(name = "help", description = "Display help information about the specified command.")
    public static final class HelpCommand implements Runnable {
        @Parameters(paramLabel = "COMMAND", description = "The command to show the usage help for.")
        List<String> commands = new ArrayList<>();

        @Spec
        Model.CommandSpec spec;

        @Override
        public void run() {
            CommandLine parent = spec.commandLine().parent;
            if (parent == null) return;
            CommandLine target = parent;
            for (String c : commands) {
                Class<?> sub = target.subcommands.get(c);
                if (sub == null) throw new ParameterException(spec.commandLine(), "Unknown subcommand '" + c + "'.");
                target = target.child(sub);
            }
            target.usage(spec.commandLine().getOut());
        }
    }

    private record OptionField(Field field, Object owner, Option option) {}

    private record ParamField(Field field, Object owner, Parameters parameters, int index, boolean list) {}

    private final Object object;
    private final Command command;
    private final CommandLine parent;
    private final Map<String, Class<?>> subcommands = new LinkedHashMap<>();
    private final List<OptionField> options = new ArrayList<>();
    private final List<ParamField> params = new ArrayList<>();
    private Field unmatched;
    private Object unmatchedOwner;
    private PrintWriter out;
    private PrintWriter err;
    private IParameterExceptionHandler parameterHandler;
    private IExecutionExceptionHandler executionHandler;

    public CommandLine(Object command) {
        this(command, null);
    }

    private CommandLine(Object object, CommandLine parent) {
        this.object = object;
        this.parent = parent;
        this.command = object.getClass().getAnnotation(Command.class);
        if (command == null) throw new IllegalArgumentException(object.getClass() + " is not a @Command");
        for (Class<?> s : command.subcommands()) {
            Command c = s.getAnnotation(Command.class);
            if (c == null) throw new IllegalArgumentException(s + " is not a @Command");
            subcommands.put(c.name(), s);
        }
        scan(object);
    }

    private void scan(Object owner) {
        for (Class<?> k = owner.getClass(); k != null && k != Object.class; k = k.getSuperclass()) {
            for (Field f : k.getDeclaredFields()) {
                if (f.isAnnotationPresent(Option.class)) {
                    f.setAccessible(true);
                    options.add(new OptionField(f, owner, f.getAnnotation(Option.class)));
                } else if (f.isAnnotationPresent(Parameters.class)) {
                    f.setAccessible(true);
                    Parameters p = f.getAnnotation(Parameters.class);
                    String idx = p.index();
                    int index = idx.isEmpty() ? -1 : Integer.parseInt(idx.contains("..") ? idx.substring(0, idx.indexOf('.')) : idx);
                    params.add(new ParamField(f, owner, p, index, List.class.isAssignableFrom(f.getType())));
                } else if (f.isAnnotationPresent(Unmatched.class)) {
                    f.setAccessible(true);
                    unmatched = f;
                    unmatchedOwner = owner;
                } else if (f.isAnnotationPresent(Spec.class)) {
                    set(f, owner, new Model.CommandSpec(this));
                } else if (f.isAnnotationPresent(Mixin.class)) {
                    f.setAccessible(true);
                    try {
                        Object mixin = f.get(owner);
                        if (mixin == null) {
                            var ctor = f.getType().getDeclaredConstructor();
                            ctor.setAccessible(true);
                            mixin = ctor.newInstance();
                            f.set(owner, mixin);
                        }
                        scan(mixin);
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException("mixin " + f, e);
                    }
                }
            }
        }
        params.sort((a, b) -> Integer.compare(a.index() < 0 ? Integer.MAX_VALUE : a.index(), b.index() < 0 ? Integer.MAX_VALUE : b.index()));
    }

    private CommandLine child(Class<?> type) {
        Object o;
        try {
            var ctor = type.getDeclaredConstructor();
            ctor.setAccessible(true);
            o = ctor.newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot create " + type, e);
        }
        CommandLine c = new CommandLine(o, this);
        c.out = out;
        c.err = err;
        return c;
    }

    public PrintWriter getOut() {
        if (out == null) out = parent != null ? parent.getOut() : new PrintWriter(System.out, true);
        return out;
    }

    public PrintWriter getErr() {
        if (err == null) err = parent != null ? parent.getErr() : new PrintWriter(System.err, true);
        return err;
    }

    public CommandLine setOut(PrintWriter w) {
        this.out = w;
        return this;
    }

    public CommandLine setErr(PrintWriter w) {
        this.err = w;
        return this;
    }

    public CommandLine setParameterExceptionHandler(IParameterExceptionHandler h) {
        this.parameterHandler = h;
        return this;
    }

    public CommandLine setExecutionExceptionHandler(IExecutionExceptionHandler h) {
        this.executionHandler = h;
        return this;
    }

    public Object getCommand() {
        return object;
    }

    private String qualifiedName() {
        return parent == null ? command.name() : parent.qualifiedName() + " " + command.name();
    }

    private CommandLine root() {
        return parent == null ? this : parent.root();
    }

    /** Parses {@code args}, runs the chosen command, returns its exit status (handlers decide for exceptions). */
    public int execute(String... args) {
        CommandLine root = root();
        CommandLine target = this;
        try {
            target = parse(args);
            if (target == null) return 0;
            Object cmd = target.object;
            int rc;
            if (cmd instanceof Callable<?> c) {
                Object r = c.call();
                rc = r instanceof Integer i ? i : 0;
            } else if (cmd instanceof Runnable r) {
                r.run();
                rc = 0;
            } else {
                target.usage(target.getOut());
                rc = 0;
            }
            target.getOut().flush();
            return rc;
        } catch (ParameterException e) {
            try {
                if (root.parameterHandler != null) return root.parameterHandler.handleParseException(e, args);
                getErr().println(e.getMessage());
                return 2;
            } catch (Exception x) {
                throw new IllegalStateException(x);
            }
        } catch (Exception e) {
            if (root.executionHandler == null) throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
            try {
                return root.executionHandler.handleExecutionException(e, target, null);
            } catch (RuntimeException r) {
                throw r;
            } catch (Exception x) {
                throw new IllegalStateException(x);
            }
        } finally {
            getOut().flush();
            getErr().flush();
        }
    }

    /** Fills this command's fields from {@code args}; returns the command to run, or null if help was printed. */
    private CommandLine parse(String[] args) {
        Map<OptionField, Boolean> seen = new LinkedHashMap<>();
        List<String> positional = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        boolean dashes = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (dashes) {
                positional.add(a);
                continue;
            }
            if (a.equals("--") && unmatched == null) {
                dashes = true;
                continue;
            }
            if (positional.isEmpty() && subcommands.containsKey(a)) {
                applyDefaults(seen);
                CommandLine sub = child(subcommands.get(a));
                return sub.parse(Arrays.copyOfRange(args, i + 1, args.length));
            }
            if (a.startsWith("-") && a.length() > 1) {
                if (command.mixinStandardHelpOptions() && (a.equals("-h") || a.equals("--help"))) {
                    usage(getOut());
                    return null;
                }
                if (command.mixinStandardHelpOptions() && (a.equals("-V") || a.equals("--version"))) {
                    CommandLine r = root();
                    for (String v : r.command.version()) getOut().println(v);
                    return null;
                }
                String name = a, value = null;
                int eq = a.indexOf('=');
                if (a.startsWith("--") && eq > 0) {
                    name = a.substring(0, eq);
                    value = a.substring(eq + 1);
                }
                OptionField o = option(name);
                if (o == null) {
                    if (unmatched != null) {
                        rest.add(a);
                        continue;
                    }
                    if (looksNumeric(a) && !params.isEmpty()) {
                        positional.add(a);
                        continue;
                    }
                    throw new ParameterException(this, "Unknown option: '" + a + "'");
                }
                boolean flag = o.field().getType() == boolean.class || o.field().getType() == Boolean.class;
                if (flag) {
                    if (value != null) throw new ParameterException(this, "option '" + name + "' takes no value");
                    set(o.field(), o.owner(), true);
                } else {
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw new ParameterException(this, "Missing required parameter for option '" + o.option().names()[0]
                                    + "' (" + label(o) + ")");
                        }
                        value = args[++i];
                    }
                    assign(o, value, seen.containsKey(o));
                }
                seen.put(o, true);
                continue;
            }
            if (unmatched != null && params.isEmpty()) rest.add(a);
            else positional.add(a);
        }
        applyDefaults(seen);
        for (OptionField o : options) {
            if (o.option().required() && !seen.containsKey(o)) {
                throw new ParameterException(this, "Missing required option: '" + o.option().names()[0] + "=" + label(o) + "'");
            }
        }
        assignPositional(positional, rest);
        if (unmatched != null) {
            @SuppressWarnings("unchecked") List<String> l = (List<String>) get(unmatched, unmatchedOwner);
            if (l == null) {
                l = new ArrayList<>();
                set(unmatched, unmatchedOwner, l);
            }
            l.addAll(rest);
        }
        return this;
    }

    private static boolean looksNumeric(String a) {
        return a.length() > 1 && Character.isDigit(a.charAt(1));
    }

    private OptionField option(String name) {
        for (OptionField o : options) {
            for (String n : o.option().names()) if (n.equals(name)) return o;
        }
        return null;
    }

    private void applyDefaults(Map<OptionField, Boolean> seen) {
        for (OptionField o : options) {
            String d = o.option().defaultValue();
            if (seen.containsKey(o) || d.equals(NO_DEFAULT)) continue;
            if (List.class.isAssignableFrom(o.field().getType())) {
                if (get(o.field(), o.owner()) == null) set(o.field(), o.owner(), new ArrayList<>());
                continue;
            }
            set(o.field(), o.owner(), convert(o.field(), d, o.option().names()[0]));
        }
    }

    private void assign(OptionField o, String value, boolean again) {
        Field f = o.field();
        if (List.class.isAssignableFrom(f.getType())) {
            @SuppressWarnings("unchecked") List<Object> l = (List<Object>) get(f, o.owner());
            if (l == null || !again) {
                l = new ArrayList<>();
                set(f, o.owner(), l);
            }
            l.add(convertElement(f, value, o.option().names()[0]));
        } else {
            set(f, o.owner(), convert(f, value, o.option().names()[0]));
        }
    }

    private void assignPositional(List<String> positional, List<String> rest) {
        int next = 0;
        for (ParamField p : params) {
            Parameters ann = p.parameters();
            if (p.list()) {
                List<Object> l = new ArrayList<>();
                int from = p.index() >= 0 ? p.index() : next;
                for (int i = from; i < positional.size(); i++) l.add(convertElement(p.field(), positional.get(i), label(p)));
                next = positional.size();
                if (ann.arity().startsWith("1") && l.isEmpty()) {
                    throw new ParameterException(this, "Missing required parameter: '" + label(p) + "'");
                }
                set(p.field(), p.owner(), l);
            } else {
                int at = p.index() >= 0 ? p.index() : next;
                if (at >= positional.size()) {
                    if (ann.arity().startsWith("0")) continue;
                    throw new ParameterException(this, "Missing required parameter: '" + label(p) + "'");
                }
                set(p.field(), p.owner(), convert(p.field(), positional.get(at), label(p)));
                next = Math.max(next, at + 1);
            }
        }
        if (next < positional.size()) {
            if (unmatched != null) {
                rest.addAll(positional.subList(next, positional.size()));
                return;
            }
            String extra = positional.get(next);
            if (next == 0 && params.isEmpty() && !subcommands.isEmpty()) {
                throw new ParameterException(this, "Unknown command: '" + extra + "' (see " + qualifiedName() + " --help)");
            }
            throw new ParameterException(this, positional.size() - next == 1
                    ? "Unmatched argument at index " + next + ": '" + extra + "'"
                    : "Unmatched arguments from index " + next + ": " + String.join(", ", positional.subList(next, positional.size()).stream().map(s -> "'" + s + "'").toList()));
        }
    }

    private Object convert(Field f, String value, String what) {
        return convertTo(f.getType(), value, what);
    }

    private Object convertElement(Field f, String value, String what) {
        Class<?> t = String.class;
        if (f.getGenericType() instanceof ParameterizedType pt && pt.getActualTypeArguments()[0] instanceof Class<?> c) t = c;
        return convertTo(t, value, what);
    }

    private Object convertTo(Class<?> t, String value, String what) {
        try {
            if (t == String.class) return value;
            if (t == int.class || t == Integer.class) return Integer.parseInt(value);
            if (t == long.class || t == Long.class) return Long.parseLong(value);
            if (t == boolean.class || t == Boolean.class) return Boolean.parseBoolean(value);
            if (t == double.class || t == Double.class) {
                double d = Double.parseDouble(value);
                if (!Double.isFinite(d)) throw new NumberFormatException(value);
                return d;
            }
        } catch (NumberFormatException e) {
            if (t == double.class || t == Double.class) {
                throw new ParameterException(this, "Invalid value for " + describe(what) + ": '" + value + "' is not a number");
            }
            throw new ParameterException(this, "Invalid value for " + describe(what) + ": '" + value + "' is not a "
                    + (t == int.class || t == Integer.class ? "32-bit" : "64-bit") + " whole number");
        }
        if (t.isEnum()) {
            for (Object c : t.getEnumConstants()) {
                if (((Enum<?>) c).name().equals(value)) return c;
            }
            List<String> names = Arrays.stream(t.getEnumConstants()).map(c -> ((Enum<?>) c).name()).toList();
            throw new ParameterException(this, "Invalid value for " + describe(what) + ": expected one of " + names
                    + " (case-sensitive) but was '" + value + "'");
        }
        throw new IllegalStateException("unsupported option type " + t);
    }

    private static String describe(String what) {
        return what.startsWith("-") ? "option '" + what + "'" : "positional parameter " + what;
    }

    private static String label(OptionField o) {
        String l = o.option().paramLabel();
        return l.isEmpty() ? "<" + o.field().getName() + ">" : l;
    }

    private static String label(ParamField p) {
        String l = p.parameters().paramLabel();
        return l.isEmpty() ? "<" + p.field().getName() + ">" : l;
    }

    private static void set(Field f, Object owner, Object value) {
        try {
            f.setAccessible(true);
            f.set(owner, value);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Object get(Field f, Object owner) {
        try {
            return f.get(owner);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- usage ----------------------------------------------------------------------------------

    public void usage(java.io.PrintStream s) {
        PrintWriter w = new PrintWriter(s);
        usage(w);
        w.flush();
    }

    public void usage(PrintWriter w) {
        StringBuilder synopsis = new StringBuilder("Usage: ").append(qualifiedName());
        if (command.mixinStandardHelpOptions()) synopsis.append(" [-hV]");
        for (OptionField o : options) {
            boolean flag = o.field().getType() == boolean.class;
            String n = o.option().names()[0] + (flag ? "" : "=" + label(o));
            synopsis.append(' ').append(o.option().required() ? n : "[" + n + "]");
        }
        for (ParamField p : params) {
            String l = label(p) + (p.list() ? "..." : "");
            boolean optional = p.list() ? !p.parameters().arity().startsWith("1") : p.parameters().arity().startsWith("0");
            synopsis.append(' ').append(optional ? "[" + l + "]" : l);
        }
        if (!subcommands.isEmpty()) synopsis.append(" [COMMAND]");
        w.println(synopsis);
        for (String d : command.description()) w.println(d);
        for (ParamField p : params) {
            w.printf("      %-24s %s%n", label(p) + (p.list() ? "..." : ""), String.join(" ", p.parameters().description()));
        }
        for (OptionField o : options) {
            boolean flag = o.field().getType() == boolean.class;
            String names = String.join(", ", o.option().names()) + (flag ? "" : "=" + label(o));
            String desc = String.join(" ", o.option().description()).replace("${DEFAULT-VALUE}", o.option().defaultValue());
            w.printf("  %-28s %s%n", names, desc);
        }
        if (command.mixinStandardHelpOptions()) {
            w.printf("  %-28s %s%n", "-h, --help", "Show this help message and exit.");
            w.printf("  %-28s %s%n", "-V, --version", "Print version information and exit.");
        }
        if (!subcommands.isEmpty()) {
            w.println("Commands:");
            for (var e : subcommands.entrySet()) {
                Command c = e.getValue().getAnnotation(Command.class);
                w.printf("  %-10s %s%n", e.getKey(), c.description().length == 0 ? "" : c.description()[0]);
            }
        }
        w.flush();
    }

    /** Convenience for tests: the command's name as the user types it. */
    @Override
    public String toString() {
        return qualifiedName().toLowerCase(Locale.ROOT);
    }
}

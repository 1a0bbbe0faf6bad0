// Prints the source lines each JaCoCo exec file covers: "#<exec>" then "<package>/<File.java> <line>".
// Run with the single-file source launcher: java -cp <jacoco core + asm jars> PwJacocoLines.java CLASSES EXEC...
import java.io.File;
import org.jacoco.core.analysis.Analyzer;
import org.jacoco.core.analysis.CoverageBuilder;
import org.jacoco.core.analysis.IClassCoverage;
import org.jacoco.core.analysis.ICounter;
import org.jacoco.core.tools.ExecFileLoader;

public class PwJacocoLines {
    public static void main(String[] args) throws Exception {
        for (int i = 1; i < args.length; i++) {
            ExecFileLoader loader = new ExecFileLoader();
            loader.load(new File(args[i]));
            CoverageBuilder builder = new CoverageBuilder();
            new Analyzer(loader.getExecutionDataStore(), builder).analyzeAll(new File(args[0]));
            System.out.println("#" + args[i]);
            for (IClassCoverage c : builder.getClasses()) {
                String src = c.getPackageName() + "/" + c.getSourceFileName();
                for (int line = c.getFirstLine(); line <= c.getLastLine() && line > 0; line++) {
                    int status = c.getLine(line).getStatus();
                    if (status == ICounter.FULLY_COVERED || status == ICounter.PARTLY_COVERED) {
                        System.out.println(src + " " + line);
                    }
                }
            }
        }
    }
}

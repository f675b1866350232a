/**
 * `npm run bench`: every benchmark section side by side with its reference (runc, Docker Engine when
 * Debian's docker.io is installed), printed as ratios. `npm run bench -- <section-substring>` runs
 * only the sections whose title matches.
 */
import { formatRows, type Section } from './lib.js';

const SECTION_MODULES = ['./runtime.bench.js', './monitor.bench.js', './images.bench.js', './pull.bench.js', './run-path.bench.js', './observability.bench.js', './resilience.bench.js', './network.bench.js', './files.bench.js', './exec.bench.js', './security.bench.js'];

async function main(): Promise<void> {
  const filter = process.argv.slice(2).join(' ').toLowerCase();
  for (const mod of SECTION_MODULES) {
    const { sections } = (await import(mod)) as { sections: Section[] };
    for (const section of sections) {
      if (filter && !section.title.toLowerCase().includes(filter)) continue;
      console.log(`\n${section.title}`);
      try {
        console.log(formatRows(await section.run()));
      } catch (err) {
        console.log(`  failed: ${(err as Error).message}`);
        process.exitCode = 1;
      }
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

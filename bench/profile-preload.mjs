// Diagnostics only: `BENCH_SERVER_NODE_OPTIONS="--import $PWD/bench/profile-preload.mjs"` (NODE_OPTIONS
// refuses --cpu-prof). Profiles the whole process with the inspector and, on SIGTERM (before the server's
// own shutdown runs), writes chat-<pid>.cpuprofile into PROFILE_DIR if set, else the working directory
// (the repository root under the bench, which starts servers with a fixed environment).
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const session = new Session();
session.connect();
session.post('Profiler.setSamplingInterval', { interval: 200 });
session.post('Profiler.enable');
session.post('Profiler.start');
process.once('SIGTERM', () => {
  // The in-process inspector answers synchronously: the file is written before shutdown continues.
  session.post('Profiler.stop', (err, result) => {
    if (err) return void process.stderr.write(`profile-preload: ${err.message}\n`);
    const file = join(process.env.PROFILE_DIR ?? process.cwd(), `chat-${process.pid}.cpuprofile`);
    writeFileSync(file, JSON.stringify(result.profile));
    process.stderr.write(`profile-preload: wrote ${file}\n`);
  });
});

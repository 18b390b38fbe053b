#![no_main]
libfuzzer_sys::fuzz_target!(
    init: rewind_fuzz_targets::fuzzing_init(),
    |data: &[u8]| rewind_fuzz_targets::run("change_file", data)
);

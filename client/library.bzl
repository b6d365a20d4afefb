"""Packaging the C client as an installable library: one static archive holding the
client and the protobuf-c message code it exposes, from which the shared library is
linked too."""

def _merged_archive_impl(ctx):
    archives = []
    for dep in ctx.attr.deps:
        for linker_input in dep[CcInfo].linking_context.linker_inputs.to_list():
            for library in linker_input.libraries:
                # System libraries (//bazel:grpc...) come as linkopts, not files: they
                # stay outside, as the .pc file's Requires say.
                archive = library.pic_static_library or library.static_library
                if archive != None and archive not in archives:
                    archives.append(archive)
    script = "CREATE %s\n" % ctx.outputs.out.path
    for archive in archives:
        script += "ADDLIB %s\n" % archive.path
    script += "SAVE\nEND\n"
    cc_toolchain = ctx.attr._cc_toolchain[cc_common.CcToolchainInfo]
    ctx.actions.run_shell(
        inputs = depset(archives, transitive = [cc_toolchain.all_files]),
        outputs = [ctx.outputs.out],
        # ar's MRI script keeps members whose names repeat across archives, which
        # extracting with `ar x` into one directory would overwrite. `ar s` writes the
        # symbol index.
        command = "printf '%s' \"$1\" | \"$2\" -M && \"$2\" s \"$3\"",
        arguments = [script, cc_toolchain.ar_executable, ctx.outputs.out.path],
        mnemonic = "MergeArchives",
        progress_message = "Merging %d archives into %s" % (len(archives), ctx.outputs.out.short_path),
    )
    return [DefaultInfo(files = depset([ctx.outputs.out]))]

vg_merged_archive = rule(
    implementation = _merged_archive_impl,
    doc = "One static archive (`out`) of every cc_library in the transitive deps.",
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "out": attr.output(mandatory = True),
        "_cc_toolchain": attr.label(
            default = Label("@bazel_tools//tools/cpp:current_cc_toolchain"),
        ),
    },
)

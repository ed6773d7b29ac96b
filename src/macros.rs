//! The stream types, written once.
//!
//! The behaviour every stream shares is defined once, in
//! [`LimitedStream`](crate::LimitedStream) (documentation) and the cores
//! (logic). These macros only give each type its struct, its inherent copies
//! of the trait's methods (so that calling one needs no import), and its
//! trait impls, all forwarding to the core.

/// The inherent copies of [`LimitedStream`](crate::LimitedStream)'s methods,
/// each with a runnable example on the type itself. `$new` must build a
/// stream named `stream` over ten ready items with a limit of 3, and `$use`
/// import what it needs.
macro_rules! shared_methods {
    ($use:expr, $new:expr) => {
        #[doc = concat!(
            "Returns the most futures that may be in flight at once.\n\n",
            "# Examples\n\n```\n", $use, "\n\n",
            "let stream = ", $new, ";\n",
            "assert_eq!(stream.limit(), 3);\n```"
        )]
        #[inline]
        pub fn limit(&self) -> usize {
            crate::LimitedStream::limit(self)
        }

        #[doc = concat!(
            "Changes the most futures that may be in flight at once.\n\n",
            "Raising the bound starts more futures on the next poll. Lowering it ",
            "cancels nothing: what is in flight is let finish, and no new item is ",
            "pulled until fewer than `limit` are in flight.\n\n",
            "# Panics\n\n",
            "If `limit` is 0. Pass `usize::MAX` for no bound.\n\n",
            "# Examples\n\n```\nuse futures::StreamExt;\n", $use, "\n\n",
            "# futures::executor::block_on(async {\n",
            "let mut stream = ", $new, ";\n",
            "stream.next().await;\n",
            "stream.set_limit(5);\n",
            "stream.next().await;\n",
            "assert_eq!(stream.in_flight(), 5);\n",
            "# });\n```"
        )]
        #[track_caller]
        #[inline]
        pub fn set_limit(&mut self, limit: usize) {
            crate::LimitedStream::set_limit(self, limit);
        }

        #[doc = concat!(
            "Returns how many items were pulled and are neither yielded nor dropped: ",
            "futures running plus finished outputs not yet yielded.\n\n",
            "# Examples\n\n```\nuse futures::StreamExt;\n", $use, "\n\n",
            "# futures::executor::block_on(async {\n",
            "let mut stream = ", $new, ";\n",
            "assert_eq!(stream.in_flight(), 0); // nothing is pulled before the first poll\n",
            "stream.next().await;\n",
            "assert_eq!(stream.in_flight(), 3); // the freed place was refilled first\n",
            "# });\n```"
        )]
        #[inline]
        pub fn in_flight(&self) -> usize {
            crate::LimitedStream::in_flight(self)
        }

        #[doc = concat!(
            "Advances the futures in flight without handing out an output and without ",
            "pulling from the source; `Ready(())` once no future is running.\n\n",
            "See [`LimitedStream::poll_progress`](crate::LimitedStream::poll_progress) ",
            "for the rules.\n\n",
            "# Examples\n\n```\n", $use, "\n",
            "use futures::task::noop_waker_ref;\n",
            "use std::task::{Context, Poll};\n\n",
            "let mut stream = ", $new, ";\n",
            "let mut cx = Context::from_waker(noop_waker_ref());\n",
            "// Nothing is pulled before the first `poll_next`, so nothing runs.\n",
            "assert_eq!(stream.poll_progress(&mut cx), Poll::Ready(()));\n",
            "assert_eq!(stream.in_flight(), 0);\n```"
        )]
        #[inline]
        pub fn poll_progress(
            &mut self,
            cx: &mut core::task::Context<'_>,
        ) -> core::task::Poll<()> {
            crate::LimitedStream::poll_progress(self, cx)
        }

        #[doc = concat!(
            "Runs `work` and, while it is pending, keeps the futures in flight going; ",
            "resolves to `work`'s output as soon as `work` is ready.\n\n",
            "See [`LimitedStream::progress_while`](crate::LimitedStream::progress_while) ",
            "for why and when, panics and cancellation.\n\n",
            "# Examples\n\n```\nuse futures::StreamExt;\n", $use, "\n\n",
            "# futures::executor::block_on(async {\n",
            "let mut stream = ", $new, ";\n",
            "let mut handled = vec![];\n",
            "while let Some(output) = stream.next().await {\n",
            "    // The futures in flight go on while the output is handled.\n",
            "    stream.progress_while(async { handled.push(output) }).await;\n",
            "}\n",
            "assert_eq!(handled.len(), 10);\n",
            "# });\n```"
        )]
        #[inline]
        pub fn progress_while<F: core::future::IntoFuture>(
            &mut self,
            work: F,
        ) -> crate::ProgressWhile<'_, Self, F::IntoFuture> {
            crate::LimitedStream::progress_while(self, work)
        }
    };
}

/// Defines a public stream type around a core from [`crate::cores`]: the
/// struct, `Unpin`, `into_inner`, `indexed`, the inherent copies of the
/// shared methods, `Stream`, `FusedStream`, `LimitedStream` and `Debug`.
///
/// `example` gives the pieces of the runnable examples: the `use` line, an
/// expression building a stream over ten ready items `0..10` with a limit of
/// 3, and an expression counting what `stream.into_inner()` hands back.
macro_rules! limited_stream {
    (
        $(#[$attr:meta])*
        pub struct $name:ident<$P:ident>
        where [$($bounds:tt)*]
        impl [$($extra:ident),*] where [$($impl_bounds:tt)*]
        {
            core: $core:ty,
            item: $item:ty,
            new: |$arg:ident: $arg_ty:ty| $make_source:expr,
            into_inner: $inner:ty, |$source:ident| $unwrap:expr,
            example: $ex_use:expr, $ex_new:expr, $ex_rest:expr,
        }
    ) => {
        $(#[$attr])*
        #[must_use = "streams do nothing unless polled"]
        pub struct $name<$P>
        where
            $($bounds)*
        {
            core: $core,
        }

        // Nothing is pinned in place: every future lives in a slot of the
        // arena, which never moves, and the source is either never pinned (an
        // iterator) or boxed once. So the stream is `Unpin` whatever the types.
        impl<$P> Unpin for $name<$P> where $($bounds)* {}

        impl<$P> $name<$P>
        where
            $($bounds)*
        {
            #[track_caller]
            pub(crate) fn new($arg: $arg_ty, limit: usize, method: &str) -> Self {
                crate::cores::check_limit(method, limit);
                Self {
                    core: <$core>::new($make_source, limit),
                }
            }
        }

        impl<$P $(, $extra)*> $name<$P>
        where
            $($impl_bounds)*
        {
            shared_methods!($ex_use, $ex_new);

            #[doc = concat!(
                "Pairs each output with its item's position in the input: ",
                "`(index, output)`.\n\n",
                "The index counts every item the source produced, from 0, whatever the ",
                "limit was when it was pulled (so [`set_limit`](Self::set_limit) does not ",
                "change it) and even if an earlier item's future panicked. Nothing extra is ",
                "allocated: the engine keeps each slot's index anyway. Calling `indexed` ",
                "after some outputs were yielded is fine; indices stay positions in the input.\n\n",
                "# Examples\n\n```\nuse futures::StreamExt;\n", $ex_use, "\n\n",
                "# futures::executor::block_on(async {\n",
                "let mut stream = ", $ex_new, ".indexed();\n",
                "assert_eq!(stream.next().await.map(|(index, _)| index), Some(0));\n",
                "assert_eq!(stream.next().await.map(|(index, _)| index), Some(1));\n",
                "# });\n```"
            )]
            pub fn indexed(self) -> crate::Indexed<Self> {
                crate::Indexed::new(self)
            }

            #[doc = concat!(
                "Drops the futures in flight and their finished outputs, and returns the source, ",
                "positioned just after the last item pulled.\n\n",
                "Nothing that was not started is lost.\n\n",
                "# Examples\n\n```\nuse futures::StreamExt;\n", $ex_use, "\n\n",
                "# futures::executor::block_on(async {\n",
                "let mut stream = ", $ex_new, ";\n",
                "stream.next().await;\n",
                "// Items 0 to 3 were pulled: 0 was yielded, 1 to 3 are dropped here.\n",
                "assert_eq!(", $ex_rest, ", 6);\n",
                "# });\n```"
            )]
            pub fn into_inner(self) -> $inner {
                let $source = self.core.into_source();
                $unwrap
            }
        }

        impl<$P $(, $extra)*> futures_core::Stream for $name<$P>
        where
            $($impl_bounds)*
        {
            type Item = $item;

            #[inline]
            fn poll_next(
                self: core::pin::Pin<&mut Self>,
                cx: &mut core::task::Context<'_>,
            ) -> core::task::Poll<Option<$item>> {
                crate::cores::Core::poll_tagged(&mut self.get_mut().core, cx)
                    .map(|item| item.map(|(_, output)| output))
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                crate::cores::Core::size_hint(&self.core)
            }
        }

        impl<$P $(, $extra)*> futures_core::stream::FusedStream for $name<$P>
        where
            $($impl_bounds)*
        {
            fn is_terminated(&self) -> bool {
                crate::cores::Core::is_terminated(&self.core)
            }
        }

        impl<$P $(, $extra)*> crate::limited_stream::sealed::Sealed for $name<$P>
        where
            $($impl_bounds)*
        {
            #[inline]
            fn poll_tagged(
                &mut self,
                cx: &mut core::task::Context<'_>,
            ) -> core::task::Poll<Option<(usize, $item)>> {
                crate::cores::Core::poll_tagged(&mut self.core, cx)
            }
        }

        impl<$P $(, $extra)*> crate::LimitedStream for $name<$P>
        where
            $($impl_bounds)*
        {
            fn limit(&self) -> usize {
                crate::cores::Core::limit(&self.core)
            }

            #[track_caller]
            fn set_limit(&mut self, limit: usize) {
                crate::cores::check_limit(concat!(stringify!($name), "::set_limit"), limit);
                crate::cores::Core::set_limit(&mut self.core, limit);
            }

            fn in_flight(&self) -> usize {
                crate::cores::Core::in_flight(&self.core)
            }

            fn poll_progress(&mut self, cx: &mut core::task::Context<'_>) -> core::task::Poll<()> {
                crate::cores::Core::poll_progress(&mut self.core, cx)
            }
        }

        impl<$P $(, $extra)*> core::fmt::Debug for $name<$P>
        where
            $($impl_bounds)*
        {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                crate::cores::Core::debug(&self.core, f, stringify!($name))
            }
        }
    };
}

/// One adaptor type: `adaptor!(Name, source, output, Core, "method", Twin,
/// "what the method's docs say")`, where `source` is `iter` or `stream`,
/// `output` is `plain` or `try` (outputs are `Result`s and the stream stops
/// at the first `Err`), and `Twin` is the same adaptor over the other kind of
/// source. Builds the type docs and every example from those pieces.
macro_rules! adaptor {
    ($name:ident, iter, $output:tt, $core:ident, $method:literal, $twin:ident, $about:literal) => {
        adaptor!(@output $output, $name, $core, $method, $twin, $about,
            source: I: [Iterator], I::Item, I,
            ext: "LimitedAsCompletedExt",
            new: |iter: I| iter,
            into_inner: I, |iter| iter,
            example_source: ["(0..10).map(|i| async move { ", " })"],
            example_rest: "stream.into_inner().count()",
            twin_is: "over a `Stream` of futures"
        );
    };
    ($name:ident, stream, $output:tt, $core:ident, $method:literal, $twin:ident, $about:literal) => {
        adaptor!(@output $output, $name, $core, $method, $twin, $about,
            source: S: [futures_core::Stream], S::Item, crate::source::Polled<S>,
            ext: "LimitedAsCompletedStreamExt",
            new: |stream: S| crate::source::Polled::new(stream),
            into_inner: core::pin::Pin<alloc::boxed::Box<S>>, |source| source.into_inner(),
            example_source: ["futures::stream::iter((0..10).map(|i| async move { ", " }))"],
            example_rest: "stream.into_inner().count().await",
            twin_is: "over an iterator of futures; the [trait docs](crate::LimitedAsCompletedStreamExt) say what differs with a stream source"
        );
    };
    (@output plain, $name:ident, $core:ident, $method:literal, $twin:ident, $about:literal,
        source: $P:ident: [$($trait:tt)*], $Item:ty, $Src:ty, $($rest:tt)*
    ) => {
        adaptor!(@emit $name, $method, $twin, $about, $($rest)*,
            struct: [$P: $($trait)*, $Item: IntoFuture], $P,
            impl: [] [$P: $($trait)*, $Item: IntoFuture],
            core: $core<$Src>,
            item: <$Item as IntoFuture>::Output,
            example_item: "i"
        );
    };
    (@output try, $name:ident, $core:ident, $method:literal, $twin:ident, $about:literal,
        source: $P:ident: [$($trait:tt)*], $Item:ty, $Src:ty, $($rest:tt)*
    ) => {
        adaptor!(@emit $name, $method, $twin, $about, $($rest)*,
            struct: [$P: $($trait)*, $Item: IntoFuture], $P,
            impl: [T, E] [$P: $($trait)*, $Item: IntoFuture<Output = Result<T, E>>],
            core: $core<$Src, crate::cores::OnErr>,
            item: Result<T, E>,
            example_item: "Ok::<u32, String>(i)"
        );
    };
    (@emit $name:ident, $method:literal, $twin:ident, $about:literal,
        ext: $ext:literal,
        new: |$arg:ident: $arg_ty:ty| $make_source:expr,
        into_inner: $inner:ty, |$source:ident| $unwrap:expr,
        example_source: [$ex_open:literal, $ex_close:literal],
        example_rest: $ex_rest:literal,
        twin_is: $twin_is:literal,
        struct: [$($bounds:tt)*], $P:ident,
        impl: [$($extra:ident),*] [$($impl_bounds:tt)*],
        core: $core:ty,
        item: $item:ty,
        example_item: $ex_item:literal
    ) => {
        limited_stream! {
            #[doc = concat!(
                "Stream for the [`", $method, "`](crate::", $ext, "::", $method, ") method.\n\n",
                "See that method for ", $about, ". [`", stringify!($twin), "`](crate::",
                stringify!($twin), ") is the same ", $twin_is, "."
            )]
            pub struct $name<$P>
            where [$($bounds)*]
            impl [$($extra),*] where [$($impl_bounds)*]
            {
                core: $core,
                item: $item,
                new: |$arg: $arg_ty| $make_source,
                into_inner: $inner, |$source| $unwrap,
                example: concat!("use limited_as_completed::", $ext, ";"),
                    concat!($ex_open, $ex_item, $ex_close, ".", $method, "(3)"),
                    $ex_rest,
            }
        }
    };
}
